"""ISO 4217 active currency codes and their minor units.

Kept as data (no library) so the pure domain can check a code without any dependency.
Source: ISO 4217 list one (current currencies), precious-metal, fund and test codes left out
except the fund codes that are legal tender units of account (CLF, UYW).
"""

from __future__ import annotations

_TWO_DECIMALS = """
AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD
CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL
GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR
LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD
PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC
SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW
ZWG
"""
_ZERO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND"
_FOUR_DECIMALS = "CLF UYW"


def _table() -> dict[str, int]:
    table: dict[str, int] = {}
    for text, units in (
        (_TWO_DECIMALS, 2),
        (_ZERO_DECIMALS, 0),
        (_THREE_DECIMALS, 3),
        (_FOUR_DECIMALS, 4),
    ):
        table.update({code: units for code in text.split()})
    return table


MINOR_UNITS: dict[str, int] = _table()
