"""What-if of days of chats (`frontdoor simulate`): the real router, its services, policies and
timers on a virtual clock (`engine`), people described by a profile file (`profile`), and what it
came to (`report`)."""
