"""Support's work on orders, the teamlead cabinet and the platform statistics."""
