from . import selection_views  # noqa: F401
from .views import bp

__all__ = ["bp"]
