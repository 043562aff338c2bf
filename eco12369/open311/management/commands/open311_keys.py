from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from eco12369.open311.models import ApiKey
from eco12369.open311.services import api_key_create, api_key_revoke


class Command(BaseCommand):
    help = "管理 Open311 接口密钥：create --channel 名称 / revoke 前缀 / list"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        create = sub.add_parser("create", help="签发密钥（只显示一次）")
        create.add_argument("--channel", required=True, help="渠道名称，例如 12345热线")
        revoke = sub.add_parser("revoke", help="吊销密钥")
        revoke.add_argument("prefix", help="密钥前缀（8位），也可以粘贴整个密钥")
        sub.add_parser("list", help="列出密钥")

    def handle(self, *args: Any, **options: Any) -> None:
        verb = options["verb"]
        if verb == "create":
            created, key = api_key_create(channel=options["channel"])
            self.stdout.write(f"已为渠道“{created.channel}”签发接口密钥（请妥善保存，仅显示这一次）：\n{key}")
        elif verb == "revoke":
            prefix = options["prefix"].strip().removeprefix("eco_")[:8]
            found = ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True).first()
            if found is None:
                raise CommandError(f"没有前缀为 {prefix} 的有效密钥。")
            api_key_revoke(api_key=found)
            self.stdout.write(f"已吊销渠道“{found.channel}”的密钥 {found.prefix}…")
        else:
            for row in ApiKey.objects.all():
                state = "有效" if row.active else f"已吊销 {row.revoked_at:%Y-%m-%d}"
                self.stdout.write(f"{row.prefix}…  {row.channel}  {state}")
