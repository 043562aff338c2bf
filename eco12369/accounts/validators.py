"""Password complexity (MLPS 2.0: length plus character classes)."""

from __future__ import annotations

import string
from typing import Any

from django.core.exceptions import ValidationError


class ComplexityValidator:
    """At least three of: lower-case letters, upper-case letters, digits, symbols."""

    def __init__(self, classes: int = 3) -> None:
        self.classes = classes

    def validate(self, password: str, user: Any = None) -> None:
        found = sum(
            (
                any(c.islower() for c in password),
                any(c.isupper() for c in password),
                any(c.isdigit() for c in password),
                any(c in string.punctuation or c.isspace() for c in password),
            )
        )
        if found < self.classes:
            raise ValidationError(
                "密码须至少包含小写字母、大写字母、数字、符号中的%(n)d类。",
                code="password_too_simple",
                params={"n": self.classes},
            )

    def get_help_text(self) -> str:
        return f"密码须至少包含小写字母、大写字母、数字、符号中的{self.classes}类。"
