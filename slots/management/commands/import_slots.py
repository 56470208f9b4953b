"""``manage.py import_slots <file> [--format json|csv|shuffle|slotreport] [--source NAME]``.

Re-running it with the same file changes nothing (the import upserts on slug / source id).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from slots.catalogue import slots_import
from slots.importers import FORMATS, FormatError, guess_format, parse_document

BAR_WIDTH = 30


class Command(BaseCommand):
    help = "Import or update the slot catalogue from a JSON, CSV, Shuffle games.json or slot.report file."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=FORMATS, default=None, help="default: guessed from the file")
        parser.add_argument("--source", default=None, help="source name stored on the rows (default: format)")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        fmt = options["format"] or guess_format(path.name, data)
        try:
            rows = parse_document(
                data, fmt, image_base_url=getattr(settings, "SLOTS_SHUFFLE_IMAGE_BASE_URL", "")
            )
        except FormatError as exc:
            raise CommandError(f"{path.name}: {exc}") from exc
        show = not options["no_progress"] and options.get("verbosity", 1) > 0
        result = slots_import(
            rows=rows, source=options["source"] or fmt, progress=self._bar if show else None
        )
        if show:
            self.stdout.write("")
        for problem in result.problems:
            self.stderr.write(f"skipped {problem}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{path.name} ({fmt}): {result.created} created, {result.updated} updated, "
                f"{result.skipped} skipped"
            )
        )

    def _bar(self, done: int, total: int) -> None:
        filled = BAR_WIDTH * done // total if total else BAR_WIDTH
        pct = 100 * done // total if total else 100
        self.stdout.write(
            f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {pct:3d}% {done}/{total}", ending=""
        )
        self.stdout.flush()
