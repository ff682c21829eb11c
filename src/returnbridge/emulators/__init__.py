"""Faithful local emulators of the platforms ReturnBridge talks to.

Each emulator is an independent reading of its platform's documentation: nothing here imports from the rest of the
``returnbridge`` package, so a misunderstanding in our clients is caught here instead of being copied here.
"""
