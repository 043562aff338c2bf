"""A modest starter list for the outbound content rules (Art. 16): secrecy markers that must never leave
in a message to a reporter, a few common spam phrases and a few vulgar words. The system administrator
maintains the list in the admin; this only seeds an empty table."""

from __future__ import annotations

from typing import Any

from django.db import migrations

STARTER = {
    "secret": ["绝密", "机密", "秘密级", "国家秘密", "涉密文件", "不得外传", "仅限内部传阅"],
    "spam": ["加微信领取", "代开发票", "刷单返利", "点击链接领取", "免费领取红包"],
    "vulgar": ["他妈的", "王八蛋", "混蛋", "滚蛋", "傻逼"],
}


def seed(apps: Any, schema_editor: Any) -> None:
    SensitiveWord = apps.get_model("compliance", "SensitiveWord")
    if SensitiveWord.objects.exists():
        return
    SensitiveWord.objects.bulk_create(
        [
            SensitiveWord(word=word, category=category, note="初始词表")
            for category, words in STARTER.items()
            for word in words
        ]
    )


def unseed(apps: Any, schema_editor: Any) -> None:
    SensitiveWord = apps.get_model("compliance", "SensitiveWord")
    SensitiveWord.objects.filter(note="初始词表").delete()


class Migration(migrations.Migration):
    dependencies = [("compliance", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
