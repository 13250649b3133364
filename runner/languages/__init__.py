"""The compiled and scripted languages, one module per family, registered by runtime type."""

from __future__ import annotations

from runner.drivers import Driver
from runner.languages.c_family import CDriver, CppDriver
from runner.languages.golang import GoDriver
from runner.languages.haskell import HaskellDriver
from runner.languages.java import JavaDriver
from runner.languages.julia import JuliaDriver
from runner.languages.r import RDriver
from runner.languages.rust import RustDriver
from runner.languages.scheme import SchemeDriver
from runner.languages.scripts import LuaDriver, NodeDriver, OctaveDriver, PhpDriver

LANGUAGES: dict[str, type[Driver]] = {
    driver.lang: driver for driver in (
        CDriver, CppDriver, JavaDriver, RustDriver, GoDriver, HaskellDriver, NodeDriver,
        LuaDriver, PhpDriver, OctaveDriver, SchemeDriver, RDriver, JuliaDriver)
}
