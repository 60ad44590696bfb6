"""Errors of issued documents."""

from __future__ import annotations

from shared.errors import AppError, Conflict, NotFound, Text


class DocumentNotFound(NotFound):
    """Also said when the document exists but the caller may not read it."""

    code = "document.not_found"
    title = Text("文件不存在", "Document not found")


class DocumentNotReady(Conflict):
    code = "document.not_ready"
    title = Text("尚不能签发该文件", "This document cannot be issued yet")


class DocumentContentMissing(AppError):
    status = 503
    code = "document.unavailable"
    title = Text("文件内容暂不可用", "The document's content is unavailable")


class NotAPdf(AppError):
    status = 415
    code = "document.not_pdf"
    title = Text(
        "请以 application/pdf 或 application/octet-stream 提交文件",
        "Send the file as application/pdf or application/octet-stream",
    )


class VerificationTooLarge(AppError):
    status = 413
    code = "document.too_large"
    title = Text("文件过大，不是本系统签发的文件", "Too large to be a document we issued")


class InvalidDigest(AppError):
    status = 422
    code = "document.invalid_sha256"
    title = Text("SHA-256 须为 64 位十六进制数", "sha256 must be 64 hexadecimal digits")
