"""Dashboard pages, one module per area; URL names live in dashboard/urls.py."""
