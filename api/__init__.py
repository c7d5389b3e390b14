"""The HTTP service of cart-scheduler: coordinators' plans and the order system's bookings."""
