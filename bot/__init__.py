"""The customer's side: the conversation with the customer, from greeting to rating."""
