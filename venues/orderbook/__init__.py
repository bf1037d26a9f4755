"""The order-book venue: configuration, the Python venue, and its compiled replay kernels."""
