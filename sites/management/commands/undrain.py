from hosting.management.commands import uncordon
from sites.drain import undrain


class Command(uncordon.Command):
    help = "Undrain a host: it gets new work again (sites moved off it stay where they are)."
    change = staticmethod(undrain)
