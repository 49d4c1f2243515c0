"""The example project's demo app: ``manage.py demo_setup`` seeds a catalogue and a staff user."""
