"""Post-purchase platform: the shared domain package deployed as the `common` Lambda layer."""
