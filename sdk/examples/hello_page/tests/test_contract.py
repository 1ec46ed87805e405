"""The platform's rules for every plugin, from the SDK's conformance kit."""

from xrm_sdk.testing import PluginContractTests


class TestContract(PluginContractTests):
    plugin = "hello"
