// The QR checkout page's script, served as a file so the page's Content-Security-Policy needs
// no inline script. The form's data attributes say which payment provider takes the card:
//   sandbox: the built-in simulator's card field (data-tokens-url), a "tok_..." token back;
//   stripe:  a Stripe.js Elements card field (data-publishable-key): the card goes to Stripe,
//            which creates a PaymentMethod; only its id ("pm_...") is sent to this server.
"use strict";

const form = document.getElementById("pay");
const statusBox = document.getElementById("status");
const say = (text, bad) => {
  statusBox.textContent = text;
  statusBox.className = bad ? "error" : "";
};

function sandboxCard() {
  const ids = ["number", "exp_month", "exp_year", "cvc"];
  return {
    async tokenise() {
      const card = {
        number: document.getElementById("number").value,
        exp_month: Number(document.getElementById("exp_month").value),
        exp_year: Number(document.getElementById("exp_year").value),
        cvc: document.getElementById("cvc").value,
      };
      const answer = await fetch(form.dataset.tokensUrl, {
        method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(card),
      });
      const body = await answer.json();
      if (!answer.ok) throw new Error(body.error ? body.error.message : "the card was not accepted");
      return body.token;
    },
    clear() {
      for (const id of ids) document.getElementById(id).value = "";
    },
  };
}

function stripeCard() {
  const stripe = Stripe(form.dataset.publishableKey);  // global of https://js.stripe.com/v3
  const card = stripe.elements().create("card", {hidePostalCode: true});
  card.mount("#card-element");
  card.on("change", (event) => say(event.error ? event.error.message : "", Boolean(event.error)));
  return {
    async tokenise() {
      const {paymentMethod, error} = await stripe.createPaymentMethod({type: "card", card});
      if (error) throw new Error(error.message);
      return paymentMethod.id;
    },
    clear() {
      card.clear();
    },
  };
}

async function follow(id) {
  const answer = await fetch(`/pay/checkouts/${encodeURIComponent(id)}`);
  const body = await answer.json();
  if (body.receipt_url) {
    say(`Charged ${body.captured} ${body.currency} for ${body.energy_kwh} kWh. Thank you!`);
    const link = document.createElement("a");
    link.id = "receipt-link";
    link.href = body.receipt_url;
    link.textContent = "Download your receipt";
    document.getElementById("receipt").replaceChildren(link);
    return;
  }
  if (body.session_status === "active") say(`Charging… ${body.held} ${body.currency} held.`);
  if (body.session_status === "under_review") {
    say("Your session is under review: the operator checks its meter data before charging.");
  }
  setTimeout(() => follow(id), 1000);
}

const provider = form.dataset.gateway === "stripe" ? stripeCard() : sandboxCard();

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = document.getElementById("start");
  button.disabled = true;
  try {
    say("Checking your card…");
    const token = await provider.tokenise();
    provider.clear();
    const answer = await fetch(location.pathname, {
      method: "POST",
      headers: {"Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID()},
      body: JSON.stringify({token}),
    });
    const body = await answer.json();
    if (!answer.ok) throw new Error(body.error ? body.error.message : "payment failed");
    if (body.status !== "authorised") throw new Error(`Your card was declined (${body.decline_code || body.status}).`);
    if (body.start !== "Accepted") throw new Error("The charge point did not start; nothing was charged.");
    say(`Started. ${body.held} ${body.currency} held. Plug in and charge.`);
    follow(body.id);
  } catch (error) {
    say(error.message, true);
    button.disabled = false;
  }
});
