import xrm_sdk as xrm
from sqlalchemy.orm import Mapped, mapped_column

MANIFEST = xrm.Manifest(name="badtable", title="Bad table")


class Thing(xrm.TenantScoped, xrm.Model):
    __tablename__ = "things_of_someone_else"

    id: Mapped[int] = mapped_column(primary_key=True)


@xrm.hookimpl
def xrm_models():
    return [Thing]
