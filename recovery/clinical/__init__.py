"""Pure clinical rules: plain values in, plain values out, no ORM.

Thresholds come in as arguments (from configuration), never as literals inside the rules.
"""
