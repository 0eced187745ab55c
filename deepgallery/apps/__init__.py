"""One sub-package per application; each defines APP (see deepgallery.core.app)."""
