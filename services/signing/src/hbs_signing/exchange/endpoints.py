"""HTTP: transfer and graduation packages. Only the office (văn thư, admins) exports or imports;
the board and the office read what left and entered the school."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from hbs_shared.auth import CurrentPrincipal, Principal
from hbs_shared.display import school_today
from hbs_shared.problems import Problem
from hbs_shared.roles import OFFICE, OVERSEERS
from hbs_shared.service import runtime_of
from hbs_shared.uploads import UploadLimits, read_body
from hbs_signing.certificates.check import CertificateRefused
from hbs_signing.certificates.service import NoUsableCertificate
from hbs_signing.exchange.identity import IdentityPeople
from hbs_signing.exchange.inspection import FileProblem, inspect_package, inspect_receipt
from hbs_signing.exchange.schemas import (
    ExportedOut,
    ExportIn,
    ExportOut,
    FileProblemOut,
    ImportOut,
    InspectionOut,
    PackageFileOut,
    PackageOut,
)
from hbs_signing.exchange.service import ExchangeError, ExchangeService, Seal, register_receipt
from hbs_signing.models import ExchangeFile, ExchangePackage
from hbs_signing.token import TokenError
from hbs_signing.verification.service import Verifier

router = APIRouter(prefix="/exchange", tags=["exchange"])
PACKAGE_LIMITS = UploadLimits(max_bytes=50 * 1024 * 1024, max_unzipped_bytes=50 * 1024 * 1024, field="file")
"""A package: a student's three sealed records are ~0.6 MB; 50 MB leaves room for many years."""
NOT_FOUND = Problem(404, "Không tìm thấy hồ sơ", "no such package", field="package_id")


def _require_office(principal: Principal) -> None:
    if not principal.has_role(*OFFICE):
        raise Problem(403, "Chỉ văn phòng nhà trường được xuất hoặc tiếp nhận hồ sơ", "office only")


def _require_reader(principal: Principal) -> None:
    if not principal.has_role(*OVERSEERS):
        raise Problem(403, "Chỉ Ban Giám hiệu và văn phòng được xem hồ sơ", "board and office only")


def _service(request: Request) -> ExchangeService:
    service: ExchangeService = request.app.state.exchange
    return service


def _people(request: Request, principal: Principal) -> IdentityPeople:
    return IdentityPeople(runtime_of(request).settings.identity_url, principal.token)


def _verifier(request: Request) -> Verifier:
    """This installation's own trusted roots (the development root and HBS_SIGNING_TRUSTED_ROOTS_FILE)."""
    return Verifier(None, request.app.state.trust_roots, None)


def package_out(package: ExchangePackage, files: list[ExchangeFile]) -> PackageOut:
    return PackageOut(
        id=package.id,
        direction="imported" if package.direction == "imported" else "exported",
        reason=package.reason,
        student_id=package.student_id,
        sha256=package.sha256,
        size=package.size,
        records=package.records,
        sender_school_id=package.sender_school_id,
        sender_school_name=package.sender_school_name,
        sender_package_id=package.sender_package_id,
        receipt_sha256=package.receipt_sha256,
        created_at=package.created_at,
        files=[
            PackageFileOut(
                name=f.name,
                kind=f.kind,
                media_type=f.media_type,
                sha256=f.sha256,
                size=f.size,
                school_year=f.school_year,
                class_name=f.class_name,
            )
            for f in files
        ],
    )


async def _seal(request: Request, principal: Principal, service: ExchangeService) -> Seal:
    try:
        async with runtime_of(request).db.transaction() as session:
            certificate, school = await service.gather_seal(session, principal.school_id)
        return await service.check_seal(certificate, school)
    except ExchangeError as error:
        raise Problem(503, "Chưa đóng dấu được: thiếu thông tin của trường", str(error)) from error
    except (CertificateRefused, NoUsableCertificate) as error:
        raise Problem(409, "Chứng thư số của con dấu nhà trường không dùng được", str(error)) from error


@router.post("/packages", response_model=ExportOut, status_code=201)
async def export_packages(body: ExportIn, principal: CurrentPrincipal, request: Request) -> ExportOut:
    """Xuất hồ sơ chuyển trường / tốt nghiệp: per student a PDF/A-3 with every sealed year record
    (PDF, JSON, XML as stored), the identity data and the manifest attached, sealed with the school
    seal (B-LTA). Logged in signing's audit trail; the student is then marked as left in identity."""
    _require_office(principal)
    seen: set[uuid.UUID] = set()
    for index, student_id in enumerate(body.student_ids):
        if student_id in seen:
            raise Problem(
                422, "Một học sinh được chọn hai lần", str(student_id), field=f"student_ids[{index}]"
            )
        seen.add(student_id)
    service = _service(request)
    people = _people(request, principal)
    identities: list[dict[str, Any]] = []
    for index, student_id in enumerate(body.student_ids):
        found = await people.student(student_id)
        if found is None:
            raise Problem(
                404, "Không tìm thấy học sinh", "no such student here", field=f"student_ids[{index}]"
            )
        identities.append(found)
    seal = await _seal(request, principal, service)
    db = runtime_of(request).db
    async with db.transaction() as session:
        documents = [
            await service.sealed_records(session, principal.school_id, student_id)
            for student_id in body.student_ids
        ]
    try:
        drafts = [
            await service.draft_export(seal.school, student_id, identity, body.reason, records)
            for student_id, identity, records in zip(body.student_ids, identities, documents, strict=True)
        ]
        for draft in drafts:
            await service.build_package(draft, seal)
    except ExchangeError as error:
        raise Problem(409, "Không lập được hồ sơ", str(error)) from error
    except TokenError as error:
        raise Problem(503, "Không đóng dấu được hồ sơ (thiết bị ký số)", str(error)) from error
    async with db.transaction() as session:
        packages = [await service.settle_export(session, principal, draft) for draft in drafts]
    runtime_of(request).relay.nudge()
    exported: list[ExportedOut] = []
    today = school_today()
    for draft, package in zip(drafts, packages, strict=True):
        left = body.mark_left and await people.leave(draft.student_id, body.reason, today)
        files = [
            ExchangeFile(
                package_id=package.id,
                name=f.name,
                kind=f.kind,
                media_type=f.media_type,
                sha256=f.sha256,
                size=f.size,
                school_year=f.school_year,
                class_name=f.class_name,
            )
            for f in draft.manifest.files
        ]
        exported.append(ExportedOut(package=package_out(package, files), student_left=left))
    return ExportOut(exported=exported)


@router.post(
    "/imports",
    response_model=ImportOut,
    status_code=201,
    responses={422: {"description": "refused: `files` lists each file's reason"}},
)
async def import_package(principal: CurrentPrincipal, request: Request) -> ImportOut:
    """Tiếp nhận hồ sơ (body `application/pdf`): the seal and every record's signatures are checked
    against THIS installation's trusted roots, every file against the manifest. Any problem refuses
    the whole package (422, `files`: each file's code and reason). Accepted: the student is linked
    by mã định danh or created, the files kept read-only, and a receipt sealed by this school."""
    _require_office(principal)
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/pdf":
        raise Problem(415, "Cần tải lên tệp hồ sơ PDF", "send the package as application/pdf", field="file")
    pdf = await read_body(request, PACKAGE_LIMITS)
    service = _service(request)
    inspection = await asyncio.to_thread(inspect_package, pdf, _verifier(request))
    db = runtime_of(request).db
    if not inspection.accepted:
        async with db.transaction() as session:
            service.refuse(session, principal, inspection)
        first = inspection.problems[0] if inspection.problems else None
        raise Problem(
            422,
            "Hồ sơ không hợp lệ, không tiếp nhận" + (f": {first.message}" if first else ""),
            "; ".join(f"{p.file}: {p.code}" for p in inspection.problems),
            field="file",
            extra={"files": [p.as_dict() for p in inspection.problems]},
        )
    manifest = inspection.manifest
    assert manifest is not None
    async with db.transaction() as session:
        already = await service.repository.imported_sha256(session, principal.school_id, inspection.sha256)
        if already is not None:
            raise Problem(
                409,
                "Hồ sơ này đã được tiếp nhận",
                "the same package was imported before",
                field="file",
                extra={"import_id": str(already.id)},
            )
    people = _people(request, principal)
    national_id = manifest.student.national_id
    student_id = await people.find(national_id)
    created = student_id is None
    if student_id is None:
        student_id = await people.create(inspection.identity)
    seal = await _seal(request, principal, service)
    draft = service.draft_import(inspection, seal.school, student_id, created)
    try:
        receipt_sha256 = await service.build_receipt(draft, seal, pdf)
    except TokenError as error:
        raise Problem(503, "Không đóng dấu được biên nhận (thiết bị ký số)", str(error)) from error
    async with db.transaction() as session:
        package = await service.settle_import(session, principal, draft, len(pdf), receipt_sha256)
        files = await service.repository.files(session, package.id)
    runtime_of(request).relay.nudge()
    return ImportOut(
        package=package_out(package, files),
        student_created=created,
        national_id=national_id,
        receipt_url=f"/exchange/packages/{package.id}/receipt",
    )


async def _package(
    request: Request, principal: Principal, package_id: uuid.UUID
) -> tuple[ExchangePackage, list[ExchangeFile]]:
    _require_reader(principal)
    async with runtime_of(request).db.transaction() as session:
        package = await _service(request).repository.get(session, principal.school_id, package_id)
        if package is None:
            raise NOT_FOUND
        return package, await _service(request).repository.files(session, package_id)


@router.get("/packages/{package_id}", response_model=PackageOut)
async def package_info(package_id: uuid.UUID, principal: CurrentPrincipal, request: Request) -> PackageOut:
    package, files = await _package(request, principal, package_id)
    return package_out(package, files)


@router.get("/students/{student_id}/packages", response_model=list[PackageOut])
async def student_packages(
    student_id: uuid.UUID, principal: CurrentPrincipal, request: Request
) -> list[PackageOut]:
    """What left with the student and what came with them from another school (read-only)."""
    _require_reader(principal)
    service = _service(request)
    async with runtime_of(request).db.transaction() as session:
        packages = await service.repository.of_student(session, principal.school_id, student_id)
        return [package_out(p, await service.repository.files(session, p.id)) for p in packages]


def _pdf(content: bytes, name: str, digest: str) -> Response:
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "ETag": f'"{digest}"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/packages/{package_id}/pdf", response_class=Response)
async def package_pdf(package_id: uuid.UUID, principal: CurrentPrincipal, request: Request) -> Response:
    """The sealed package as it left (or as it arrived)."""
    package, _ = await _package(request, principal, package_id)
    content = await asyncio.to_thread(_service(request).store.get, package.sha256)
    return _pdf(content, f"ho-so-{package.id}.pdf", package.sha256)


@router.get("/packages/{package_id}/receipt", response_class=Response)
async def package_receipt(package_id: uuid.UUID, principal: CurrentPrincipal, request: Request) -> Response:
    """The receipt (biên nhận): sealed here for an imported package, to send to the sender; or, for a
    package that left, the receiver's receipt once taken back."""
    package, _ = await _package(request, principal, package_id)
    if package.receipt_sha256 is None:
        raise Problem(
            404, "Hồ sơ này không có biên nhận", "no receipt for this package (yet)", field="package_id"
        )
    content = await asyncio.to_thread(_service(request).store.get, package.receipt_sha256)
    return _pdf(content, f"bien-nhan-{package.id}.pdf", package.receipt_sha256)


@router.get("/packages/{package_id}/files/{name}", response_class=Response)
async def package_file(
    package_id: uuid.UUID,
    name: Annotated[str, Path(max_length=120, pattern=r"^[A-Za-z0-9._-]{1,120}$")],
    principal: CurrentPrincipal,
    request: Request,
) -> Response:
    """One file of a package exactly as it was received or sent (read-only)."""
    _, files = await _package(request, principal, package_id)
    found = next((f for f in files if f.name == name), None)
    if found is None:
        raise Problem(404, "Không tìm thấy tệp trong hồ sơ", "no such file in this package", field="name")
    content = await asyncio.to_thread(_service(request).store.get, found.sha256)
    return Response(
        content,
        media_type=found.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{found.name}"',
            "Cache-Control": "private, no-store",
        },
    )


@router.post(
    "/packages/{package_id}/receipt",
    response_model=PackageOut,
    responses={422: {"description": "refused: `files` says why"}},
)
async def take_back_receipt(
    package_id: uuid.UUID, principal: CurrentPrincipal, request: Request
) -> PackageOut:
    """Nhận biên nhận (body `application/pdf`): the receiving school's sealed receipt of a package
    that left, checked against THIS installation's trusted roots and against the package it names
    (its id and SHA-256), then kept with the package."""
    _require_office(principal)
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/pdf":
        raise Problem(
            415, "Cần tải lên tệp biên nhận PDF", "send the receipt as application/pdf", field="file"
        )
    service = _service(request)
    db = runtime_of(request).db
    async with db.transaction() as session:
        package = await service.repository.get(session, principal.school_id, package_id)
    if package is None:
        raise NOT_FOUND
    if package.direction != "exported":
        raise Problem(
            409, "Chỉ hồ sơ đã gửi đi mới nhận biên nhận", "an imported package", field="package_id"
        )
    if package.receipt_sha256 is not None:
        raise Problem(409, "Hồ sơ này đã có biên nhận", "a receipt is already kept", field="package_id")
    pdf = await read_body(request, PACKAGE_LIMITS)
    inspection = await asyncio.to_thread(inspect_receipt, pdf, _verifier(request))
    receipt = inspection.receipt
    if receipt is not None and (
        receipt.package_id != package.sender_package_id or receipt.package_sha256 != package.sha256
    ):
        inspection.problems.append(
            FileProblem(
                "bien-nhan.json",
                "other_package",
                "Biên nhận này là của một hồ sơ khác",
                "package id or SHA-256",
            )
        )
    if inspection.problems or receipt is None:
        raise Problem(
            422,
            "Biên nhận không hợp lệ: " + (inspection.problems[0].message if inspection.problems else ""),
            "; ".join(f"{p.file}: {p.code}" for p in inspection.problems),
            field="file",
            extra={"files": [p.as_dict() for p in inspection.problems]},
        )
    digest = await asyncio.to_thread(service.store.put, pdf)
    async with db.transaction() as session:
        current = await service.repository.get(session, principal.school_id, package_id)
        assert current is not None
        if current.receipt_sha256 is not None:
            raise Problem(409, "Hồ sơ này đã có biên nhận", "a receipt is already kept", field="package_id")
        register_receipt(session, principal, current, receipt, digest)
        files = await service.repository.files(session, package_id)
    return package_out(current, files)


@router.post("/packages/{package_id}/verify", response_model=InspectionOut)
async def verify_package(
    package_id: uuid.UUID, principal: CurrentPrincipal, request: Request
) -> InspectionOut:
    """Check a stored package again now, seal and every record, against this installation's roots."""
    package, _ = await _package(request, principal, package_id)
    content = await asyncio.to_thread(_service(request).store.get, package.sha256)
    inspection = await asyncio.to_thread(inspect_package, content, _verifier(request))
    return InspectionOut(
        sha256=inspection.sha256,
        valid=inspection.accepted,
        problems=[FileProblemOut(**p.as_dict()) for p in inspection.problems],
    )
