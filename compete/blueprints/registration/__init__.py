from . import ticket_views  # noqa: F401  (adds the admission ticket routes to bp)
from .views import bp

__all__ = ["bp"]
