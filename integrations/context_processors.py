def banners(request):
    """Integration error banners for the page header (filled by the Salesforce connection)."""
    return {}
