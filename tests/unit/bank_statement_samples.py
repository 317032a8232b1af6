"""Hand-written camt.053 statements in the shape banks send them, for the bank statement tests.

``CAMT_02`` is a German bank's month-end statement (.02): a transfer whose text splits an
invoice number over two ``Ustrd`` lines, a SEPA direct debit collection booked as one batch
entry of two debits (``NONREF`` as the bank's reference), the return of one of them (``AC04``,
no ``RvslInd``, as German banks book returns) and the account fee. ``CAMT_08`` is a .08
document with two accounts' statements: a reversal, a batch of credits and debits, a pending
entry and an ``RF`` creditor reference.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from chargeledger.domain.bank_statements import (
    BankTransactionCode,
    BookedBalance,
    Direction,
    EntryStatus,
    Statement,
    StatementEntry,
)
from chargeledger.money import Money

ACCOUNT = "DE44500105175407324931"
OTHER_ACCOUNT = "NL91ABNA0417164300"
CUSTOMER_IBAN = "FR1420041010050500013M02606"
SECOND_CUSTOMER_IBAN = "DE89370400440532013000"
RF_REFERENCE = "RF18539007547034"

CAMT_02 = b"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
          xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
          xsi:schemaLocation="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02 camt.053.001.02.xsd">
  <BkToCstmrStmt>
    <GrpHdr>
      <MsgId>053D2026090106000000001</MsgId>
      <CreDtTm>2026-09-01T06:00:00.0+02:00</CreDtTm>
      <MsgPgntn><PgNb>1</PgNb><LastPgInd>true</LastPgInd></MsgPgntn>
    </GrpHdr>
    <Stmt>
      <Id>2026-08-31-0001</Id>
      <ElctrncSeqNb>8</ElctrncSeqNb>
      <CreDtTm>2026-09-01T06:00:00.0+02:00</CreDtTm>
      <FrToDt>
        <FrDtTm>2026-08-01T00:00:00.0+02:00</FrDtTm>
        <ToDtTm>2026-08-31T23:59:59.0+02:00</ToDtTm>
      </FrToDt>
      <Acct>
        <Id><IBAN>DE44500105175407324931</IBAN></Id>
        <Ccy>EUR</Ccy>
        <Ownr><Nm>Example Charging GmbH</Nm></Ownr>
        <Svcr><FinInstnId><BIC>INGDDEFFXXX</BIC></FinInstnId></Svcr>
      </Acct>
      <Bal>
        <Tp><CdOrPrtry><Cd>PRCD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="EUR">1000.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Dt><Dt>2026-07-31</Dt></Dt>
      </Bal>
      <Bal>
        <Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="EUR">1139.10</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Dt><Dt>2026-08-31</Dt></Dt>
      </Bal>
      <TxsSummry><TtlNtries><NbOfNtries>4</NbOfNtries></TtlNtries></TxsSummry>
      <Ntry>
        <Amt Ccy="EUR">119.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2026-08-04</Dt></BookgDt>
        <ValDt><Dt>2026-08-04</Dt></ValDt>
        <AcctSvcrRef>2026080412345</AcctSvcrRef>
        <BkTxCd>
          <Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn>
          <Prtry><Cd>NTRF+166</Cd><Issr>ZKA</Issr></Prtry>
        </BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
            <RltdPties>
              <Dbtr><Nm>Fleet Services SARL</Nm></Dbtr>
              <DbtrAcct><Id><IBAN>FR1420041010050500013m02606</IBAN></Id></DbtrAcct>
              <Cdtr><Nm>Example Charging GmbH</Nm></Cdtr>
            </RltdPties>
            <RltdAgts><DbtrAgt><FinInstnId><BIC>PSSTFRPPXXX</BIC></FinInstnId></DbtrAgt></RltdAgts>
            <RmtInf>
              <Ustrd>Rechnung INV-2026-0000</Ustrd>
              <Ustrd>42 Kundennr 1001</Ustrd>
            </RmtInf>
          </TxDtls>
        </NtryDtls>
        <AddtlNtryInf>SEPA-Gutschrift</AddtlNtryInf>
      </Ntry>
      <Ntry>
        <NtryRef>DD-2026-08-05</NtryRef>
        <Amt Ccy="EUR">60.50</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2026-08-05</Dt></BookgDt>
        <ValDt><Dt>2026-08-05</Dt></ValDt>
        <AcctSvcrRef>NONREF</AcctSvcrRef>
        <BkTxCd>
          <Domn><Cd>PMNT</Cd><Fmly><Cd>RDDT</Cd><SubFmlyCd>ESDD</SubFmlyCd></Fmly></Domn>
          <Prtry><Cd>NDDT+192</Cd><Issr>ZKA</Issr></Prtry>
        </BkTxCd>
        <NtryDtls>
          <Btch><NbOfTxs>2</NbOfTxs></Btch>
          <TxDtls>
            <Refs><EndToEndId>E2E-INV-2026-000043</EndToEndId><MndtId>M-1001</MndtId></Refs>
            <AmtDtls><TxAmt><Amt Ccy="EUR">25.00</Amt></TxAmt></AmtDtls>
            <RltdPties>
              <Dbtr><Nm>Erika Mustermann</Nm></Dbtr>
              <DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct>
            </RltdPties>
            <RmtInf>
              <Strd>
                <CdtrRefInf>
                  <Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry><Issr>ISO</Issr></Tp>
                  <Ref>RF18539007547034</Ref>
                </CdtrRefInf>
              </Strd>
            </RmtInf>
          </TxDtls>
          <TxDtls>
            <Refs><EndToEndId>E2E-INV-2026-000044</EndToEndId><MndtId>M-1002</MndtId></Refs>
            <AmtDtls><TxAmt><Amt Ccy="EUR">35.50</Amt></TxAmt></AmtDtls>
            <RltdPties>
              <Dbtr><Nm>Max Mustermann</Nm></Dbtr>
              <DbtrAcct><Id><IBAN>GB29NWBK60161331926819</IBAN></Id></DbtrAcct>
            </RltdPties>
            <RmtInf><Ustrd>INV-2026-000044</Ustrd></RmtInf>
          </TxDtls>
        </NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">35.50</Amt>
        <CdtDbtInd>DBIT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2026-08-12</Dt></BookgDt>
        <ValDt><Dt>2026-08-05</Dt></ValDt>
        <AcctSvcrRef>2026081200077</AcctSvcrRef>
        <BkTxCd>
          <Domn><Cd>PMNT</Cd><Fmly><Cd>RDDT</Cd><SubFmlyCd>UPDD</SubFmlyCd></Fmly></Domn>
          <Prtry><Cd>NRTI+109</Cd><Issr>ZKA</Issr></Prtry>
        </BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs><EndToEndId>E2E-INV-2026-000044</EndToEndId></Refs>
            <RltdPties>
              <Dbtr><Nm>Max Mustermann</Nm></Dbtr>
              <DbtrAcct><Id><IBAN>GB29NWBK60161331926819</IBAN></Id></DbtrAcct>
              <Cdtr><Nm>Example Charging GmbH</Nm></Cdtr>
              <CdtrAcct><Id><IBAN>DE44500105175407324931</IBAN></Id></CdtrAcct>
            </RltdPties>
            <RtrInf>
              <Rsn><Cd>AC04</Cd></Rsn>
              <AddtlInf>Konto erloschen</AddtlInf>
            </RtrInf>
          </TxDtls>
        </NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">4.90</Amt>
        <CdtDbtInd>DBIT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2026-08-31</Dt></BookgDt>
        <ValDt><Dt>2026-08-31</Dt></ValDt>
        <BkTxCd><Prtry><Cd>NCHG+805</Cd><Issr>ZKA</Issr></Prtry></BkTxCd>
        <AddtlNtryInf>Kontofuehrung</AddtlNtryInf>
      </Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>
"""

CAMT_08 = b"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
  <BkToCstmrStmt>
    <GrpHdr>
      <MsgId>MSG-2026-09-01</MsgId>
      <CreDtTm>2026-09-01T04:30:00Z</CreDtTm>
    </GrpHdr>
    <Stmt>
      <Id>STMT-EUR-2026-08</Id>
      <FrToDt>
        <FrDtTm>2026-08-01T00:00:00Z</FrDtTm>
        <ToDtTm>2026-08-31T23:59:59Z</ToDtTm>
      </FrToDt>
      <Acct><Id><IBAN>DE44500105175407324931</IBAN></Id></Acct>
      <Bal>
        <Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="EUR">20.00</Amt>
        <CdtDbtInd>DBIT</CdtDbtInd>
        <Dt><Dt>2026-08-01</Dt></Dt>
      </Bal>
      <Bal>
        <Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="EUR">55.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Dt><Dt>2026-08-31</Dt></Dt>
      </Bal>
      <Ntry>
        <Amt Ccy="EUR">30.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <RvslInd>true</RvslInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><DtTm>2026-08-10T09:15:00+02:00</DtTm></BookgDt>
        <ValDt><Dt>2026-08-10</Dt></ValDt>
        <AcctSvcrRef>REV-0001</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>RRTN</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs><EndToEndId>REFUND-0007</EndToEndId></Refs>
            <Amt Ccy="EUR">30.00</Amt>
            <CdtDbtInd>CRDT</CdtDbtInd>
            <RltdPties>
              <Dbtr><Pty><Nm>Example Charging GmbH</Nm></Pty></Dbtr>
              <Cdtr><Pty><Nm>Jean Dupont</Nm></Pty></Cdtr>
              <CdtrAcct><Id><IBAN>FR1420041010050500013M02606</IBAN></Id></CdtrAcct>
            </RltdPties>
            <RltdAgts><CdtrAgt><FinInstnId><BICFI>PSSTFRPPXXX</BICFI></FinInstnId></CdtrAgt></RltdAgts>
            <RtrInf><Rsn><Cd>AC04</Cd></Rsn></RtrInf>
          </TxDtls>
        </NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">45.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>2026-08-20</Dt></BookgDt>
        <ValDt><Dt>2026-08-20</Dt></ValDt>
        <AcctSvcrRef>BATCH-77</AcctSvcrRef>
        <BkTxCd/>
        <NtryDtls>
          <TxDtls>
            <Refs><AcctSvcrRef>BATCH-77-A</AcctSvcrRef></Refs>
            <Amt Ccy="EUR">50.00</Amt>
            <CdtDbtInd>CRDT</CdtDbtInd>
            <RltdPties><Dbtr><Pty><Nm>Fleet One</Nm></Pty></Dbtr></RltdPties>
            <RmtInf>
              <Strd><CdtrRefInf><Ref>RF18539007547034</Ref></CdtrRefInf></Strd>
            </RmtInf>
          </TxDtls>
          <TxDtls>
            <Amt Ccy="EUR">5.00</Amt>
            <CdtDbtInd>DBIT</CdtDbtInd>
            <BkTxCd><Prtry><Cd>FEE</Cd></Prtry></BkTxCd>
          </TxDtls>
        </NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">12.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts><Cd>PDNG</Cd></Sts>
        <ValDt><Dt>2026-09-01</Dt></ValDt>
        <BkTxCd/>
      </Ntry>
    </Stmt>
    <Stmt>
      <Id>STMT-NL-2026-08</Id>
      <CreDtTm>2026-09-01T05:00:00+02:00</CreDtTm>
      <Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id><Ccy>EUR</Ccy></Acct>
      <Bal>
        <Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="EUR">0.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Dt><Dt>2026-08-31</Dt></Dt>
      </Bal>
    </Stmt>
  </BkToCstmrStmt>
</Document>
"""


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def entry(**fields: object) -> StatementEntry:
    """A booked credit of 10.00 EUR on 3 August 2026, changed by ``fields``."""
    values: dict[str, object] = {
        "entry_ref": "REF-1",
        "amount": eur("10.00"),
        "direction": Direction.CREDIT,
        "status": EntryStatus.BOOKED,
        "booking_date": date(2026, 8, 3),
        "value_date": date(2026, 8, 3),
    }
    values.update(fields)
    return StatementEntry(**values)  # type: ignore[arg-type]


def month_end_statement(*entries: StatementEntry) -> Statement:
    """The demo's kind of month-end statement: an invoice paid by transfer (its number in the
    text), a direct debit batch with an RF reference, a returned debit (RtrInf + RvslInd)."""
    chosen = entries or (
        entry(
            entry_ref="TRF-1",
            amount=eur("119.00"),
            counterparty_name="Fleet Services SARL",
            counterparty_iban=CUSTOMER_IBAN,
            counterparty_bic="PSSTFRPPXXX",
            end_to_end_id="E2E-1",
            remittance_unstructured="Invoice INV-2026-000042\nCustomer 1001",
            bank_transaction_code=BankTransactionCode("PMNT", "RCDT", "ESCT", "NTRF+166", "ZKA"),
        ),
        entry(
            entry_ref="DD-7/1",
            batch_ref="DD-7",
            amount=eur("25.00"),
            counterparty_name="Erika Mustermann",
            counterparty_iban=SECOND_CUSTOMER_IBAN,
            creditor_reference=RF_REFERENCE,
            bank_transaction_code=BankTransactionCode("PMNT", "RDDT", "ESDD"),
        ),
        entry(
            entry_ref="DD-7-B",
            batch_ref="DD-7",
            amount=eur("35.50"),
            counterparty_name="Max Mustermann & Söhne <KG>",
            end_to_end_id="E2E-INV-2026-000044",
            remittance_unstructured="INV-2026-000044",
        ),
        entry(
            entry_ref="RET-1",
            amount=eur("35.50"),
            direction=Direction.DEBIT,
            reversal=True,
            return_reason="MD06",
            booking_date=date(2026, 8, 12),
            counterparty_name="Max Mustermann & Söhne <KG>",
            counterparty_iban=SECOND_CUSTOMER_IBAN,
            end_to_end_id="E2E-INV-2026-000044",
            bank_transaction_code=BankTransactionCode("PMNT", "RDDT", "UPDD"),
        ),
    )
    return Statement(
        statement_id="STMT-2026-08",
        account_iban=ACCOUNT,
        currency="EUR",
        created_at=datetime(2026, 9, 1, 4, 0, tzinfo=UTC),
        from_date=date(2026, 8, 1),
        to_date=date(2026, 8, 31),
        opening_balance=BookedBalance(eur("100.00"), date(2026, 8, 1)),
        closing_balance=BookedBalance(eur("244.00"), date(2026, 8, 31)),
        entries=chosen,
    )
