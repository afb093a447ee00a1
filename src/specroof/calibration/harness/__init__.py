"""The pieces of ``specroof measure``: devices, the torch decoder, timing, the memory guard."""
