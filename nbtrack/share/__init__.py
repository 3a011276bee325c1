"""Moving runs between stores: portable bundles (export/import) and store-to-store sync."""

from nbtrack.share.bundle import BundleCorrupt, export_runs, import_bundle
from nbtrack.share.sync import SyncReport, sync_stores

__all__ = ["BundleCorrupt", "SyncReport", "export_runs", "import_bundle", "sync_stores"]
