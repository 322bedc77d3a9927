"""Problems of the pages' sign-in."""

from __future__ import annotations

from common.problems import ForbiddenError, NotAuthenticatedError, ServiceUnavailableError


class SignInFailedError(NotAuthenticatedError):
    title = "Đăng nhập không thành công"


class SignInNotConfiguredError(ServiceUnavailableError):
    title = "Chưa cấu hình nhà cung cấp định danh"


class CsrfError(ForbiddenError):
    title = "Biểu mẫu đã hết hạn, vui lòng tải lại trang"
