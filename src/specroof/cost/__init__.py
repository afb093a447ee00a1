"""The cost of one decoding / verification step: operators, roofline, efficiency."""
