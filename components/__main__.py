"""The component provider host, as `pulumi package add` runs it (PulumiPlugin.yaml here):
serves every component of ``components.package`` as ``agentfleet:index:<Component>``,
with the schema Pulumi's analyzer infers from that module (``components/schema.json``)."""

from pulumi.provider.experimental import component_provider_host

from components.package import COMPONENTS, PACKAGE
from facts import __version__

if __name__ == "__main__":
    component_provider_host(COMPONENTS, name=PACKAGE, version=__version__)
