"""The vendors the emulator knows. A vendor is served when the configuration has its section."""

from __future__ import annotations

from importlib import import_module

from emulator.vendors.base import Vendor

# name -> "module:Class", imported only when configured
REGISTRY: dict[str, str] = {
    "iadvize": "emulator.vendors.iadvize:IAdvize",
    "avaya": "emulator.vendors.avaya:Avaya",
    "dixa": "emulator.vendors.dixa:Dixa",
    "liveassist": "emulator.vendors.liveassist:LiveAssist",
    "tiledesk": "emulator.vendors.tiledesk:Tiledesk",
}


def vendor_class(name: str) -> type[Vendor]:
    module, _, cls = REGISTRY[name].partition(":")
    return getattr(import_module(module), cls)
