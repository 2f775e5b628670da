"""GB 32100-2015 check digit of the 统一社会信用代码, against codes worked out by hand."""

from __future__ import annotations

import pytest

from guatu.lifecycle.rules.validation import InputRejected
from guatu.opportunities.uscc import WEIGHTS, check_char, check_uscc


def test_weights_are_powers_of_three_mod_31() -> None:
    # 3^0..3^16 mod 31, worked out: 1 3 9 27 81-62=19 57-31=26 78-62=16 48-31=17 51-31=20 60-31=29
    # 87-62=25 75-62=13 39-31=8 24 72-62=10 30 90-62=28.
    assert WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def test_check_digit_of_a_numeric_code() -> None:
    # 91440300192203821? — values 9 1 4 4 0 3 0 0 1 9 2 2 0 3 8 2 1, times the weights:
    # 9 + 3 + 36 + 108 + 0 + 78 + 0 + 0 + 20 + 261 + 50 + 26 + 0 + 72 + 80 + 60 + 28 = 831;
    # 831 mod 31 = 831 − 806 = 25; 31 − 25 = 6.
    assert check_char("91440300192203821") == "6"
    assert check_uscc("914403001922038216") == "914403001922038216"


def test_check_digit_that_is_a_letter() -> None:
    # 9144030071526726X? — values 9 1 4 4 0 3 0 0 7 1 5 2 6 7 2 6 X=29:
    # 9 + 3 + 36 + 108 + 0 + 78 + 0 + 0 + 140 + 29 + 125 + 26 + 48 + 168 + 20 + 180 + 812 = 1782;
    # 1782 mod 31 = 1782 − 1767 = 15; 31 − 15 = 16, the letter G (A=10 … G=16).
    assert check_char("9144030071526726X") == "G"
    assert check_uscc("9144030071526726xg") == "9144030071526726XG"  # typed in lower case


def test_check_digit_zero_when_the_sum_divides() -> None:
    # 10000000000000002: 1×1 + 2×28 = 57; 57 mod 31 = 26; 31 − 26 = 5.
    # 00000000000000001: 1×28 = 28; 31 − 28 = 3.
    # All zeros: the sum is 0, 31 − 0 = 31, written 0.
    assert check_char("10000000000000002") == "5"
    assert check_char("00000000000000001") == "3"  # 28 → 31 − 28 = 3
    assert check_char("0" * 17) == "0"


def test_spaces_and_hyphens_are_ignored() -> None:
    assert check_uscc(" 9144 0300 1922-038216 ") == "914403001922038216"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("914403001922038217", "uscc_check_digit"),  # last digit off by one
        ("914403001922083216", "uscc_check_digit"),  # two digits swapped
        ("91440300192203821", "uscc_length"),
        ("9144030019220382160", "uscc_length"),
        ("91440300I922038216", "uscc_characters"),  # I is not in the alphabet
        ("9144030071526726XO", "uscc_characters"),
    ],
)
def test_bad_codes_are_refused_in_chinese_first(code: str, reason: str) -> None:
    with pytest.raises(InputRejected) as err:
        check_uscc(code)
    assert err.value.code == reason
    assert "统一社会信用代码" in err.value.zh
    if reason == "uscc_check_digit":
        assert "校验位不符" in err.value.zh


def test_the_expected_check_character_is_named() -> None:
    with pytest.raises(InputRejected) as err:
        check_uscc("914403001922038217")
    assert "第 18 位应为 6" in err.value.zh
