"""Import pages (upload → mapping → result, and the history) and whole-kind exports.

Who may import: ops and admins any kind; HR people and assignments; everyone else gets 403. Exports are open
to every signed-in user with a role and contain only what ``visible_to`` lets them see.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from salesops.core.roles import Role, role_of
from salesops.imports.exporting import FORMATS, export_response, kind_export
from salesops.imports.forms import MappingForm, UploadForm
from salesops.imports.kinds import fields_of, initial_mapping
from salesops.imports.models import BatchStatus, ImportBatch, ImportKind
from salesops.imports.parsing import TableError, read_table
from salesops.imports.services import import_file

PEOPLE_KINDS = [ImportKind.PEOPLE.value, ImportKind.ASSIGNMENTS.value]
PREVIEW_ROWS = 5
SHOWN_ERRORS = 500


def importable_kinds(user) -> list[str]:
    role = role_of(user)
    if role in (Role.ADMIN, Role.OPS):
        return list(ImportKind.values)
    if role == Role.HR:
        return list(PEOPLE_KINDS)
    return []


def _require_importer(user) -> list[str]:
    kinds = importable_kinds(user)
    if not kinds:
        raise PermissionDenied(_("Only sales operations, administrators and HR may import."))
    return kinds


def _access_batch(user, pk) -> ImportBatch:
    kinds = _require_importer(user)
    batch = get_object_or_404(ImportBatch, pk=pk)
    if batch.kind not in kinds:
        raise Http404("no such import for you")
    return batch


def upload_dir() -> Path:
    """Where uploaded files wait for their mapping (``settings.IMPORT_UPLOAD_DIR``, default ``var/imports``)."""
    return Path(getattr(settings, "IMPORT_UPLOAD_DIR", None) or Path(settings.VAR_DIR) / "imports")


def purge_stale_uploads(max_age: dt.timedelta = dt.timedelta(days=2)) -> None:
    """Forget uploads nobody mapped or retried for ``max_age``: delete their files (the batches stay)."""
    stale = ImportBatch.objects.filter(created_at__lt=timezone.now() - max_age).exclude(stored_path="")
    for batch in stale:
        Path(batch.stored_path).unlink(missing_ok=True)
    stale.filter(status=BatchStatus.UPLOADED).delete()
    stale.update(stored_path="")


@login_required
def index(request):
    kinds = _require_importer(request.user)
    batches = ImportBatch.objects.filter(kind__in=kinds).exclude(status=BatchStatus.UPLOADED).select_related("actor")
    labels = dict(ImportKind.choices)
    return TemplateResponse(request, "imports/index.html", {
        "batches": batches[:50],
        "export_kinds": [(k, labels[k]) for k in ImportKind.values],
        "formats": FORMATS,
    })


@login_required
@require_http_methods(["GET", "POST"])
def upload(request):
    kinds = _require_importer(request.user)
    form = UploadForm(request.POST or None, request.FILES or None, kinds=kinds)
    file_errors = []
    if request.method == "POST" and form.is_valid():
        purge_stale_uploads()
        upload = form.cleaned_data["file"]
        folder = upload_dir()
        folder.mkdir(parents=True, exist_ok=True)
        stored = folder / f"{uuid.uuid4().hex}{Path(upload.name).suffix.lower()}"
        with open(stored, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        encoding, sheet = form.cleaned_data["encoding"] or None, form.cleaned_data["sheet"] or None
        try:
            table = read_table(stored, encoding=encoding, sheet=sheet, limit=PREVIEW_ROWS)
        except TableError as exc:
            stored.unlink(missing_ok=True)
            file_errors = exc.errors
        else:
            batch = ImportBatch.objects.create(
                kind=form.cleaned_data["kind"], source=form.cleaned_data["source"], file_name=upload.name[:255],
                stored_path=str(stored), actor=request.user, encoding=encoding or table.encoding,
                sheet=sheet or table.sheet, status=BatchStatus.UPLOADED,
            )
            return redirect("imports:mapping", pk=batch.pk)
    return TemplateResponse(request, "imports/upload.html", {"form": form, "file_errors": file_errors})


@login_required
@require_http_methods(["GET", "POST"])
def mapping(request, pk: int):
    batch = _access_batch(request.user, pk)
    stored = Path(batch.stored_path) if batch.stored_path else None
    if stored is None or not stored.exists():
        return redirect("imports:batch", pk=batch.pk)
    try:
        table = read_table(stored, encoding=batch.encoding or None, sheet=batch.sheet or None, limit=PREVIEW_ROWS)
    except TableError as exc:
        return TemplateResponse(request, "imports/upload.html", {
            "form": UploadForm(kinds=importable_kinds(request.user)), "file_errors": exc.errors})
    initial = batch.mapping or initial_mapping(batch.kind, table.header, batch.source)
    form = MappingForm(request.POST or None, kind=batch.kind, header=table.header, initial_mapping=initial)
    if request.method == "POST" and form.is_valid():
        result = import_file(actor=request.user, kind=batch.kind, path=stored, source=batch.source,
                             mapping=form.mapping(), encoding=batch.encoding or None, sheet=batch.sheet or None,
                             dry_run=form.cleaned_data["dry_run"], batch=batch)
        if result.saved:
            stored.unlink(missing_ok=True)
            batch.stored_path = ""
            batch.save(update_fields=["stored_path"])
        return redirect("imports:batch", pk=batch.pk)
    return TemplateResponse(request, "imports/mapping.html", {
        "batch": batch, "form": form, "header": table.header, "preview": [cells for _row, cells in table.rows],
        "kind_label": batch.get_kind_display(),
    })


@login_required
def batch_detail(request, pk: int):
    batch = _access_batch(request.user, pk)
    can_retry = bool(batch.stored_path) and Path(batch.stored_path).exists() and batch.status != BatchStatus.SUCCEEDED
    labels = {spec.name: spec.label for spec in fields_of(batch.kind)}
    errors = [{"row": row, "field": field, "label": labels.get(field, ""), "value": value, "message": message}
              for row, field, value, message in batch.errors[:SHOWN_ERRORS]]
    return TemplateResponse(request, "imports/batch.html", {
        "batch": batch, "errors": errors, "more_errors": max(0, batch.error_count - SHOWN_ERRORS),
        "can_retry": can_retry,
    })


@login_required
def batch_errors(request, pk: int):
    batch = _access_batch(request.user, pk)
    fmt = request.GET.get("format", "csv")
    if fmt not in FORMATS:
        fmt = "csv"
    columns = [(_("Row"), lambda e: e[0]), (_("Field"), lambda e: e[1]), (_("Value"), lambda e: e[2]),
               (_("Problem"), lambda e: e[3])]
    return export_response(columns, batch.errors, fmt, f"import-{batch.pk}-errors")


@login_required
def export(request, kind: str):
    if kind not in ImportKind.values:
        raise Http404("unknown kind")
    if role_of(request.user) is None:
        raise PermissionDenied(_("Your account has no role yet."))
    fmt = request.GET.get("format", "csv")
    if fmt not in FORMATS:
        fmt = "csv"
    columns, rows = kind_export(kind, user=request.user)
    return export_response(columns, rows, fmt, f"{kind}-{timezone.localdate():%Y%m%d}")
