"""Activities: an XRM plugin. The platform loads :mod:`xrm_activities.plugin`."""
