"""The agents' side: group cards, claims, agent commands and relay."""
