// "Wallet & payment" (issue 16: pay with a stored card, wallet top-up, open invoices). All of it
// is the public REST API with the driver's bearer token, on the driver's own account (the
// account_id of GET /api/v1/me): the stored cards (brand and last four only; the API never has
// more), the wallet's balance, minimum and recent history, a top-up from a stored card, and the
// open invoices, each paid with a stored card after a confirm step or saved as its PDF.
//
// Exactly once (DESIGN §2): a top-up and an invoice payment carry an Idempotency-Key made once
// per form. A double tap or a retry after a lost answer sends the same key, so the server
// moves the money once and answers the same; a changed amount or card is another request and
// gets a new key (the same key with another body would be refused as idempotency_key_reused).
// A request already on its way also blocks a second one in the page.
import {ApiError, download, get, post} from "./api.js";
import {el} from "./locate.js";

const $ = (id) => document.getElementById(id);
const OPEN = new Set(["open", "partially_paid", "overdue"]);
const HISTORY_LINES = 10;
const KINDS = {wallet_top_up: "Top-up", wallet_debit: "Charging", refund: "Refund"};

let accountId = null;  // the driver's own account
let cards = [];
let topUpKey = null;
let paying = null;  // {invoice, key, opener}: the invoice whose payment awaits confirmation
let busy = false;

function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`;
}

// Decimal text as the API sends it, to two places for the eye; never through a float.
export function money(amount, currency) {
  const [whole, fraction = ""] = String(amount).split(".");
  return `${whole}.${(fraction + "00").slice(0, 2)} ${currency}`;
}

// "20", "20.5", "20,50" -> "20.00"-style Decimal text; null when it is not such an amount.
export function parseAmount(text) {
  const found = /^\s*(\d{1,6})(?:[.,](\d{1,2}))?\s*$/.exec(text);
  if (!found) return null;
  return `${found[1]}.${((found[2] || "") + "00").slice(0, 2)}`;
}

async function ownAccount() {
  if (accountId === null) {
    const me = await get("/api/v1/me");
    if (!me.account_id) throw new Error("This login has no customer account to pay from.");
    accountId = me.account_id;
  }
  return accountId;
}

function cardText(card) {
  const brand = card.brand.charAt(0).toUpperCase() + card.brand.slice(1);
  return `${brand} •••• ${card.last4}`;
}

function fillCards(select) {
  select.replaceChildren(...cards.map((card) => {
    const option = el("option", {value: card.id}, cardText(card));
    if (card.is_default) option.selected = true;
    return option;
  }));
}

function showCards() {
  $("cards").replaceChildren(...(cards.length === 0
    ? [el("li", {class: "empty"}, "No card stored.")]
    : cards.map((card) => el(
      "li", {class: "card", "data-card-id": card.id},
      `${cardText(card)}, expires ${String(card.exp_month).padStart(2, "0")}/${card.exp_year}`,
      card.is_default ? " (default)" : "",
    ))));
  fillCards($("top-up-card"));
  fillCards($("pay-card"));
  $("top-up-button").disabled = cards.length === 0;
}

async function showWallet() {
  const account = await ownAccount();
  const [wallet, history] = await Promise.all([
    get(`/api/v1/accounts/${account}/wallet`),
    get(`/api/v1/accounts/${account}/wallet/history`),
  ]);
  $("wallet").hidden = false;
  $("wallet-balance").textContent = money(wallet.balance, wallet.currency);
  $("wallet-minimum").textContent = money(wallet.effective_minimum, wallet.currency);
  const recent = history.slice(-HISTORY_LINES).reverse();
  $("wallet-history").replaceChildren(...(recent.length === 0
    ? [el("li", {class: "empty"}, "Nothing yet.")]
    : recent.map((line) => {
      const sign = String(line.amount).startsWith("-") ? "" : "+";
      return el(
        "li", {class: "line"},
        `${line.booked_on} · ${KINDS[line.kind] || line.description} · ${sign}${money(line.amount, wallet.currency)}`,
      );
    })));
  return wallet;
}

function payButton(invoice, ui) {
  const button = el(
    "button", {type: "button", class: "pay", "aria-label": `Pay invoice ${invoice.number}`},
    `Pay ${money(invoice.outstanding, invoice.currency)}`,
  );
  button.disabled = cards.length === 0;
  button.addEventListener("click", () => askToPay(invoice, button, ui));
  return button;
}

function pdfButton(invoice, ui) {
  const button = el("button", {type: "button", class: "document secondary"}, `Invoice ${invoice.number} (PDF)`);
  button.addEventListener("click", () => download(`/api/v1/invoices/${invoice.id}/pdf`).catch(ui.failed));
  return button;
}

async function showInvoices(ui) {
  const account = await ownAccount();
  const page = await get("/api/v1/invoices", {account_id: account, kind: "invoice", limit: 100});
  const open = page.items.filter((i) => i.number && OPEN.has(i.status) && Number(i.outstanding) > 0);
  $("open-invoices").replaceChildren(...(open.length === 0
    ? [el("li", {class: "empty"}, "No open invoices.")]
    : open.map((invoice) => el(
      "li", {class: "invoice", "data-invoice-id": invoice.id},
      el("h4", {}, `Invoice ${invoice.number}`),
      el("p", {class: "due"}, `${money(invoice.outstanding, invoice.currency)} open`
        + (invoice.due_date ? `, due ${invoice.due_date}` : "")
        + (invoice.status === "overdue" ? " (overdue)" : "")),
      el("div", {class: "documents"}, payButton(invoice, ui), pdfButton(invoice, ui)),
    ))));
}

function askToPay(invoice, opener, ui) {
  paying = {invoice, key: newKey(), opener};
  $("pay-question").textContent =
    `Pay invoice ${invoice.number}: ${money(invoice.outstanding, invoice.currency)} with the card below?`;
  $("pay-form").hidden = false;
  ui.say("");
  $("pay-confirm").focus();
}

function closePay() {
  paying = null;
  $("pay-form").hidden = true;
}

// The whole view; the wallet only for a prepaid account (a postpaid one pays by invoice).
export async function loadWallet(ui) {
  closePay();
  const id = await ownAccount();
  const [account, stored] = await Promise.all([
    get(`/api/v1/accounts/${id}`),
    get(`/api/v1/accounts/${id}/payment-methods`),
  ]);
  cards = stored;
  showCards();
  topUpKey = newKey();
  const prepaid = account.billing_mode === "prepaid";
  $("wallet").hidden = !prepaid;
  $("no-wallet").hidden = prepaid;
  if (prepaid) await showWallet();
  await showInvoices(ui);
}

async function topUp(ui) {
  const amount = parseAmount($("top-up-amount").value);
  if (amount === null) {
    ui.say("Type an amount such as 20 or 20.00.", true);
    $("top-up-amount").focus();
    return;
  }
  ui.say("Topping up…");
  const payment = await post(
    `/api/v1/accounts/${accountId}/wallet/top-ups`,
    {amount, payment_method_id: $("top-up-card").value},
    {"Idempotency-Key": topUpKey},
  );
  topUpKey = newKey();  // answered: the next top-up is another one
  $("top-up-amount").value = "";
  const wallet = await showWallet();
  if (payment.status === "captured") {
    ui.say(`Topped up ${money(payment.captured, payment.currency)}. `
      + `Your balance is ${money(wallet.balance, wallet.currency)}.`);
  } else {
    ui.say(`The card was not charged (${payment.decline_code || payment.status}).`, true);
  }
}

async function payInvoice(ui) {
  const {invoice, key} = paying;
  ui.say(`Paying invoice ${invoice.number}…`);
  const payment = await post(
    `/api/v1/invoices/${invoice.id}/payments`,
    {payment_method_id: $("pay-card").value},
    {"Idempotency-Key": key},
  );
  closePay();
  await showInvoices(ui);
  if (payment.status === "captured") {
    ui.say(`Invoice ${invoice.number} paid: ${money(payment.captured, payment.currency)}.`);
  } else {
    ui.say(`The card was not charged (${payment.decline_code || payment.status}).`, true);
  }
}

// Sent, but no answer came back (fetch's TypeError while online): the money may have moved,
// and the same key makes a retry safe.
function lost(error) {
  return error instanceof TypeError && /fetch/i.test(error.message) && navigator.onLine;
}

// Refused for good (a 4xx the server keeps with its key, e.g. a declined card): the request was
// answered, so a new attempt is a new request. Not so a 5xx or a 409 (busy; key in use), which
// the server does not keep: the same key is still the same, safe retry.
function answered(error) {
  return error instanceof ApiError && error.status < 500 && error.status !== 409;
}

// One request at a time; the form's key stays until an answer, so a retry is the same request.
function once(work, ui, renewKey) {
  return async (event) => {
    event.preventDefault();
    if (busy) return;
    busy = true;
    try {
      await work(ui);
    } catch (error) {
      if (lost(error)) ui.say("No answer arrived. Try again: a retry never pays twice.", true);
      else ui.failed(error);
      if (answered(error)) renewKey();
    } finally {
      busy = false;
    }
  };
}

export function wireWallet(ui) {
  $("top-up-form").addEventListener("submit", once(topUp, ui, () => { topUpKey = newKey(); }));
  for (const field of ["top-up-amount", "top-up-card"]) {
    $(field).addEventListener("change", () => { topUpKey = newKey(); });
  }
  $("pay-form").addEventListener("submit", once(payInvoice, ui, () => {
    if (paying) paying.key = newKey();
  }));
  $("pay-card").addEventListener("change", () => { if (paying) paying.key = newKey(); });
  // Cancel (or Escape) takes the keyboard back to the invoice's "Pay" button.
  const cancel = () => {
    const opener = paying && paying.opener;
    closePay();
    ui.say("Payment cancelled.");
    if (opener) opener.focus();
  };
  $("pay-cancel").addEventListener("click", cancel);
  $("pay-form").addEventListener("keydown", (event) => {
    if (event.key === "Escape") cancel();
  });
}

// Logging out: nothing of this driver stays in the page.
export function leaveWallet() {
  accountId = null;
  cards = [];
  closePay();
  for (const id of ["cards", "wallet-history", "open-invoices", "top-up-card", "pay-card"]) {
    $(id).replaceChildren();
  }
  $("wallet").hidden = true;
  $("no-wallet").hidden = true;
}
