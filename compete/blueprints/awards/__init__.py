from . import (
    certificate_views,  # noqa: F401
    honours_views,  # noqa: F401
)
from .views import bp

__all__ = ["bp"]
