"""The customer journey of issue 11, step by step, in a real Chromium (tests/e2e/test_journey.py)."""
