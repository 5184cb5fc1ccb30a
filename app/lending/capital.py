"""An amount in Chinese capital numerals (人民币大写), as contracts, receipts and cheques write it.

Follows the People's Bank of China's rules for written amounts (《支付结算办法》 附件一): the digits
零壹贰叁肆伍陆柒捌玖 with the units 拾佰仟 and the sections 万 and 亿 (above 亿 a number of its own:
玖万玖仟亿); 10 to 19 are written
with 壹 (壹拾); one 零 stands for any run of zeros between digits (壹仟零伍元, 壹亿零壹万元);
an amount ending at 元 or 角 ends with 整; one with 分 does not; a 零 stands between 元 and 分 when
there are no 角 (壹元零伍分).
"""
from __future__ import annotations

from decimal import Decimal

from app.lending.money import MAX_AMOUNT

DIGITS = "零壹贰叁肆伍陆柒捌玖"
PLACES = ("", "拾", "佰", "仟")


def _section(value: int) -> str:
    """0 < value < 10,000 in capitals, without its section's unit; inner zeros as one 零, trailing none."""
    out, zero = [], False
    for place in range(3, -1, -1):
        digit = value // 10 ** place % 10
        if digit:
            if zero:
                out.append("零")
            out.append(DIGITS[digit] + PLACES[place])
            zero = False
        elif out:
            zero = True
    return "".join(out)


def _below_yi(value: int) -> str:
    """0 < value < 10^8: its 万 section and its units section, a 零 between them when the units
    section does not fill its thousands (贰仟万零叁佰)."""
    high, low = divmod(value, 10_000)
    if not high:
        return _section(low)
    return _section(high) + "万" + (("零" if low < 1000 else "") + _section(low) if low else "")


def _yuan(value: int) -> str:
    """value > 0 in capitals: the 亿 part written as a number of its own (玖万玖仟…亿), then the rest."""
    high, low = divmod(value, 10**8)
    if not high:
        return _below_yi(low)
    return _below_yi(high) + "亿" + (("零" if low < 10**7 else "") + _below_yi(low) if low else "")


def in_capitals(amount: Decimal) -> str:
    """`amount` (at least 0, at most two decimals, below MAX_AMOUNT) in capitals, e.g. 壹佰万元整."""
    if amount < 0 or amount >= MAX_AMOUNT or amount != amount.quantize(Decimal("0.01")):
        raise ValueError("an amount of 0 or more, below 10,000,000,000,000, with at most two decimals")
    cents = int(amount * 100)
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    if not cents:
        return "零元整"
    out = _yuan(yuan) + "元" if yuan else ""
    if jiao:
        out += DIGITS[jiao] + "角"
    elif yuan and fen:
        out += "零"
    return out + (DIGITS[fen] + "分" if fen else "整")
