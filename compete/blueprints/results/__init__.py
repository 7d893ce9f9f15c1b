from . import (
    calendar_views,  # noqa: F401
    outputs_views,  # noqa: F401
    publicity_views,  # noqa: F401
    review_views,  # noqa: F401
)
from .views import bp

__all__ = ["bp"]
