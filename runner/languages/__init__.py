"""The compiled and scripted languages, one module per family, registered by runtime type."""

from __future__ import annotations

from runner.drivers import Driver
from runner.languages.c_family import CDriver, CppDriver

LANGUAGES: dict[str, type[Driver]] = {
    driver.lang: driver for driver in (CDriver, CppDriver)
}
