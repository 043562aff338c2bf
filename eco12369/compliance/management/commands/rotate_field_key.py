"""``manage.py rotate_field_key [--check]``: re-encrypt every encrypted value with the newest key of
``ECO_FIELD_KEYS`` and the cipher of ``ECO_FIELD_CIPHER`` (SM4-GCM by default; values written with Fernet
move to it), and recompute the blind indexes with ``ECO_INDEX_KEY`` (docs/field-encryption.md)."""

from __future__ import annotations

from argparse import ArgumentParser
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models, transaction

from eco12369 import crypto
from eco12369.audit.models import AuditAction
from eco12369.audit.services import audit_record


@dataclass
class Tally:
    values: int = 0  # non-empty encrypted values seen
    current: int = 0  # already encrypted with the newest key and the configured cipher
    stale: int = 0  # encrypted with an older key or cipher, or still in clear
    unreadable: int = 0  # no configured key opens it
    index_stale: int = 0  # blind indexes that do not match their value
    rows_written: int = 0


def encrypted_models() -> list[tuple[type[models.Model], list[str], list[tuple[str, str]]]]:
    """Every model with encrypted fields: (model, encrypted column names, (index column, source column))."""
    found = []
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, crypto.EncryptedTextField)]
        if not fields:
            continue
        names = {f.name: f.column for f in fields}
        indexes = [
            (f.column, names[f.source])
            for f in model._meta.concrete_fields
            if isinstance(f, crypto.BlindIndexField) and f.source in names
        ]
        found.append((model, [f.column for f in fields], indexes))
    return found


class Command(BaseCommand):
    help = (
        "用 ECO_FIELD_KEYS 中最新的密钥和 ECO_FIELD_CIPHER 的算法（默认 SM4-GCM）重新加密全部加密字段，"
        "并重算盲索引；--check 只检查不写入。"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--check", action="store_true", help="只检查：有旧密钥或明文的值时以非零状态退出")
        parser.add_argument("--batch-size", type=int, default=500, help="每批处理的行数（默认 500）")

    def handle(self, *args: Any, **options: Any) -> None:
        check: bool = options["check"]
        size: int = options["batch_size"]
        total = Tally()
        for model, columns, indexes in encrypted_models():
            label = model._meta.label
            tally = self._model(model, columns, indexes, check=check, size=size, label=label)
            for name in vars(total):
                setattr(total, name, getattr(total, name) + getattr(tally, name))
        summary = (
            f"共 {total.values} 个加密值：{total.current} 个已使用最新密钥，{total.stale} 个需要重新加密，"
            f"{total.unreadable} 个无法解密；{total.index_stale} 个盲索引需要重算。"
        )
        if total.unreadable:
            raise CommandError(summary + " 无法解密的值请检查 ECO_FIELD_KEYS 是否包含全部旧密钥。")
        if check:
            if total.stale or total.index_stale:
                raise CommandError(summary + " 请运行 manage.py rotate_field_key。")
            self.stdout.write(self.style.SUCCESS(summary))
            return
        audit_record(
            action=AuditAction.KEY_ROTATION,
            actor_label="system",
            detail={
                "values": total.values,
                "rewritten_rows": total.rows_written,
                "keys": len(crypto.configured_keys()),
                "cipher": crypto.cipher(),
            },
        )
        self.stdout.write(self.style.SUCCESS(f"{summary} 已改写 {total.rows_written} 行。"))

    def _model(
        self,
        model: type[models.Model],
        columns: list[str],
        indexes: list[tuple[str, str]],
        *,
        check: bool,
        size: int,
        label: str,
    ) -> Tally:
        """One model, in batches of ``size`` rows by primary key: read the stored (encrypted) values with
        plain SQL, classify them, and (unless ``check``) write back the re-encrypted values and the
        recomputed indexes, one transaction per batch."""
        q = connection.ops.quote_name
        table, pk = q(model._meta.db_table), q(model._meta.pk.column)
        index_columns = [ix for ix, _src in indexes]
        select = ", ".join([pk, *map(q, columns), *map(q, index_columns)])
        total_rows = model._default_manager.count()
        tally, seen, last = Tally(), 0, None
        while True:
            where = f"WHERE {pk} > %s " if last is not None else ""
            with connection.cursor() as cursor:
                cursor.execute(
                    # Identifiers come from the models' metadata, quoted; values are parameters.
                    f"SELECT {select} FROM {table} {where}ORDER BY {pk} LIMIT %s",  # noqa: S608
                    [last, size] if last is not None else [size],
                )
                rows = cursor.fetchall()
            if not rows:
                break
            updates: list[tuple[Any, dict[str, str]]] = []
            for row in rows:
                key, stored = row[0], dict(zip(columns, row[1 : 1 + len(columns)], strict=True))
                current_index = dict(zip(index_columns, row[1 + len(columns) :], strict=True))
                changes: dict[str, str] = {}
                clear: dict[str, str] = {}
                for column, value in stored.items():
                    value = value or ""
                    clear[column] = ""
                    if not value:
                        continue
                    tally.values += 1
                    if not value.startswith(crypto.PREFIXES):
                        tally.stale += 1
                        clear[column] = value
                        changes[column] = crypto.encrypt(value)
                        continue
                    try:
                        current = crypto.is_current(value)
                        clear[column] = crypto.decrypt(value)
                    except ValueError:
                        tally.unreadable += 1
                        continue
                    if current:
                        tally.current += 1
                        continue
                    tally.stale += 1
                    changes[column] = crypto.rotate(value)
                for index_column, source in indexes:
                    if stored.get(source) and not clear.get(source):
                        continue  # unreadable: leave its index alone
                    digest = crypto.blind_index(clear.get(source, ""))
                    if (current_index.get(index_column) or "") != digest:
                        tally.index_stale += 1
                        changes[index_column] = digest
                if changes:
                    updates.append((key, changes))
            if updates and not check:
                with transaction.atomic(), connection.cursor() as cursor:
                    for key, changes in updates:
                        assignments = ", ".join(f"{q(c)} = %s" for c in changes)
                        cursor.execute(
                            f"UPDATE {table} SET {assignments} WHERE {pk} = %s",  # noqa: S608
                            [*changes.values(), key],
                        )
                tally.rows_written += len(updates)
            seen += len(rows)
            last = rows[-1][0]
            verb = "检查" if check else "处理"
            self.stdout.write(f"{label}: 已{verb} {seen}/{total_rows} 行")
        return tally
