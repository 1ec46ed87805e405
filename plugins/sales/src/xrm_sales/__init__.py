"""Sales: an XRM plugin. The platform loads :mod:`xrm_sales.plugin`."""
