"""统一社会信用代码 (unified social credit code): the GB 32100-2015 check digit.

An 18-character code: registration authority (1), organisation type (1), administrative division
(6), organisation code (9, GB 11714), check character (1). Characters come from the 31 of
`ALPHABET` (the ten digits and the capital letters without I, O, Z, S, V), each worth its index.
The check character is the one worth `31 − (Σ value(i) × 3^i mod 31 for i = 0..16) mod 31`, with
31 written as `0`.

Only the check character and the alphabet are checked here: the code's own parts (a division that
exists, a registration authority's type list) change with the registers and are not ours to check.
"""

from __future__ import annotations

from guatu.lifecycle.rules.validation import InputRejected

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, …
LENGTH = 18


def check_char(body: str) -> str:
    """The check character of the first 17 characters (upper case, from `ALPHABET`)."""
    if len(body) != LENGTH - 1 or any(ch not in ALPHABET for ch in body):
        raise ValueError(f"not a code body: {body!r}")
    total = sum(ALPHABET.index(ch) * w for ch, w in zip(body, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def normalise(code: str) -> str:
    """Upper case, without the spaces and hyphens people type into forms."""
    return "".join(code.split()).replace("-", "").upper()


def check_uscc(code: str) -> str:
    """The normalised code, or `InputRejected` saying what is wrong with it (中文 first)."""
    value = normalise(code)
    if len(value) != LENGTH:
        raise InputRejected(
            "uscc_length",
            f"统一社会信用代码应为 18 位，现为 {len(value)} 位，请核对营业执照",
            f"a unified social credit code has 18 characters, this one has {len(value)}",
        )
    bad = sorted({ch for ch in value if ch not in ALPHABET})
    if bad:
        shown = "、".join(bad)
        raise InputRejected(
            "uscc_characters",
            f"统一社会信用代码含有不允许的字符：{shown}（只能是数字和除 I、O、Z、S、V 以外的大写字母）",
            f"the unified social credit code has characters it cannot have: {', '.join(bad)} "
            "(digits and capital letters except I, O, Z, S, V)",
        )
    expected = check_char(value[:17])
    if value[17] != expected:
        raise InputRejected(
            "uscc_check_digit",
            f"统一社会信用代码 {value} 校验位不符（第 18 位应为 {expected}），请核对是否输错",
            f"the unified social credit code {value} fails its check digit (the 18th character "
            f"should be {expected}); please check for a typing error",
        )
    return value
