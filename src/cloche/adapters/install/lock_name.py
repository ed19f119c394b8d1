"""The name of the file that holds an env's install lock (beside site-packages)."""

LOCK_NAME = ".cloche-install.lock"
