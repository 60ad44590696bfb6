"""Validation errors in the client's language: Pydantic writes English; Chinese is the default.

`message(error, lang)` turns one Pydantic/FastAPI error (type, loc, msg, ctx) into the `msg`
a client sees. English keeps Pydantic's own wording. Chinese comes from the table below, by
error type, with the same values (a length, a bound, the allowed choices) filled in; a type
not in the table reads "取值无效" followed by the English message, so nothing is lost.

A validator that wants its own reason in both languages raises `InvalidValue(zh, en)` instead
of a bare `ValueError`.
"""

from __future__ import annotations

from typing import Any


class InvalidValue(ValueError):
    """A validator's reason in both languages (Pydantic reports it as a `value_error`)."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh = zh


_OBJECT = "应为对象"
_ARRAY = "应为数组"
_INTEGER = "应为整数"
_NUMBER = "应为数字"
_BOOLEAN = "应为布尔值（true 或 false）"
_DATE = "应为有效的日期（如 2026-03-02）"
_DATETIME = "应为有效的日期时间（ISO 8601，如 2026-03-02T10:00:00+08:00）"
_UUID = "应为有效的 UUID"
_DECIMAL = "应为有效的十进制数"
_URL = "应为有效的 URL"

ZH: dict[str, str] = {
    "missing": "缺少必填字段",
    "extra_forbidden": "不允许的字段",
    "json_invalid": "JSON 格式错误",
    "json_type": "应为 JSON 文本",
    "model_type": _OBJECT,
    "model_attributes_type": _OBJECT,
    "dataclass_type": _OBJECT,
    "dict_type": _OBJECT,
    "mapping_type": _OBJECT,
    "list_type": _ARRAY,
    "tuple_type": _ARRAY,
    "set_type": _ARRAY,
    "frozen_set_type": _ARRAY,
    "iterable_type": _ARRAY,
    "set_item_not_hashable": "数组元素的类型不正确",
    "none_required": "应为 null",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应大于或等于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应小于或等于 {le}",
    "multiple_of": "应为 {multiple_of} 的倍数",
    "finite_number": "应为有限的数值",
    "too_short": "至少应有 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "string_type": "应为字符串",
    "string_unicode": "应为有效的 Unicode 字符串",
    "string_too_short": "至少应有 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不符合要求（应匹配 {pattern}）",
    "string_not_ascii": "只能包含 ASCII 字符",
    "string_contains_nul": "不能包含 NUL 字符",
    "enum": "应为以下之一：{expected}",
    "literal_error": "应为以下之一：{expected}",
    "bool_type": _BOOLEAN,
    "bool_parsing": _BOOLEAN,
    "int_type": _INTEGER,
    "int_parsing": _INTEGER,
    "int_parsing_size": "整数超出可处理的范围",
    "int_from_float": "应为整数，不能带小数",
    "float_type": _NUMBER,
    "float_parsing": _NUMBER,
    "bytes_type": "应为字节串",
    "bytes_too_short": "至少应有 {min_length} 个字节",
    "bytes_too_long": "最多 {max_length} 个字节",
    "value_error": "取值无效：{error}",
    "assertion_error": "取值无效：{error}",
    "date_type": _DATE,
    "date_parsing": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": "应为日期，不能带时间",
    "date_past": "应为过去的日期",
    "date_future": "应为将来的日期",
    "time_type": "应为有效的时间",
    "time_parsing": "应为有效的时间",
    "datetime_type": _DATETIME,
    "datetime_parsing": _DATETIME,
    "datetime_object_invalid": _DATETIME,
    "datetime_from_date_parsing": _DATETIME,
    "datetime_past": "应为过去的时间",
    "datetime_future": "应为将来的时间",
    "timezone_naive": "不能带时区",
    "timezone_aware": "应带时区（如 +08:00）",
    "time_delta_type": "应为有效的时长",
    "time_delta_parsing": "应为有效的时长",
    "uuid_type": _UUID,
    "uuid_parsing": _UUID,
    "uuid_version": "应为第 {expected_version} 版 UUID",
    "decimal_type": _DECIMAL,
    "decimal_parsing": _DECIMAL,
    "decimal_max_digits": "最多 {max_digits} 位数字",
    "decimal_max_places": "最多 {decimal_places} 位小数",
    "decimal_whole_digits": "整数部分最多 {whole_digits} 位",
    "url_type": _URL,
    "url_parsing": _URL,
    "url_syntax_violation": _URL,
    "url_too_long": "URL 过长",
    "url_scheme": "URL 的协议应为 {expected_schemes}",
    "union_tag_invalid": "类型标记 {tag} 无效，应为 {expected_tags}",
    "union_tag_not_found": "缺少类型标记 {discriminator}",
    "is_instance_of": "类型不正确",
}


def _zh_value(key: str, value: Any) -> str:
    if key == "error":
        return value.zh if isinstance(value, InvalidValue) else str(value)
    text = str(value)
    if key in ("expected", "expected_tags", "expected_schemes"):
        # Pydantic lists choices as "'a', 'b' or 'c'".
        text = text.replace(", ", "、").replace(" or ", " 或 ")
    return text


def message(error: dict[str, Any], lang: str) -> str:
    """The error's `msg` in `lang` ('zh' or 'en')."""
    english = str(error.get("msg", ""))
    if lang == "en":
        return english
    template = ZH.get(str(error.get("type", "")))
    if template is None:
        return f"取值无效（{english}）"
    ctx = error.get("ctx") or {}
    try:
        return template.format_map({key: _zh_value(key, value) for key, value in ctx.items()})
    except (KeyError, IndexError, ValueError):
        return template.split("{")[0].rstrip("：（ ") or f"取值无效（{english}）"
