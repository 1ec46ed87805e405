"""Browser pages for signing in and out and changing one's password."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, logout_user
from sqlalchemy import select

from ..audit import record
from ..local_paths import is_local_path
from ..models import Tenant, TenantStatus, User
from .authentication import LOGIN_LIMIT, SignedInUser, _platform, limiter, start_session
from .passwords import WeakPassword, hash_password, verify_password

blueprint = Blueprint("identity", __name__)


def _login_key() -> str:
    """Throttle per address *and* account, so one attacker cannot lock every user out."""
    return "|".join((request.remote_addr or "-", request.form.get("tenant", ""), request.form.get("email", "").lower()))


@blueprint.get("/login")
def login_form():
    """The sign-in form."""
    return render_template("login.html", tenant=request.args.get("tenant", ""), email="", error=None)


@blueprint.post("/login")
@limiter.limit(LOGIN_LIMIT, key_func=_login_key)
def login():
    """Check the credentials; on success start a new session, on failure say so without saying why."""
    slug = request.form.get("tenant", "").strip().lower()
    email = request.form.get("email", "").strip().lower()
    password = request.form.get("password", "")
    platform = _platform()
    with platform.db.transaction(all_tenants=True) as session:
        row = session.execute(
            select(User, Tenant).join(Tenant, Tenant.id == User.tenant_id)
            .where(Tenant.slug == slug, User.email == email)
        ).first()
        user, tenant = row if row else (None, None)
        valid = verify_password(user.password_hash if user else None, password)
        allowed = valid and user.active and tenant.status is TenantStatus.ACTIVE
        tenant_id = tenant.id if tenant else session.scalar(select(Tenant.id).where(Tenant.slug == slug))
        if tenant_id is not None:
            entry = record(session, "anonymous" if not allowed else f"user:{user.id}",
                           "auth.login" if allowed else "auth.login_failed", email, address=request.remote_addr)
            entry.tenant_id = tenant_id
        signed_in = SignedInUser(user, tenant) if allowed else None
    if signed_in is None:
        return render_template("login.html", tenant=slug, email=email,
                               error="Wrong organisation, e-mail or password."), 401
    start_session(signed_in)
    target = request.args.get("next", "")
    return redirect(target if is_local_path(target) else url_for("core.index"))


@blueprint.post("/logout")
def logout():
    """Sign out of this browser."""
    logout_user()
    return redirect(url_for("identity.login_form"))


@blueprint.post("/logout-everywhere")
@login_required
def logout_everywhere():
    """End every session of the user, in every browser, by moving their credential version on."""
    with _platform().db.transaction(current_user.tenant_id) as session:
        user = session.get(User, current_user.id)
        user.credential_version += 1
        record(session, f"user:{user.id}", "auth.logout_everywhere", user.email)
    logout_user()
    return redirect(url_for("identity.login_form"))


@blueprint.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's password; every other session ends."""
    if request.method == "GET":
        return render_template("password.html", error=None)
    with _platform().db.transaction(current_user.tenant_id) as session:
        user = session.get(User, current_user.id)
        if user is None:
            abort(404)
        if not verify_password(user.password_hash, request.form.get("current", "")):
            return render_template("password.html", error="The current password is wrong."), 400
        try:
            user.password_hash = hash_password(request.form.get("new", ""), email=user.email)
        except WeakPassword as exc:
            return render_template("password.html", error=str(exc)), 400
        user.credential_version += 1
        record(session, f"user:{user.id}", "auth.password_changed", user.email)
        tenant = session.get(Tenant, user.tenant_id)
        signed_in = SignedInUser(user, tenant)
    start_session(signed_in)
    flash("Your password was changed; your other sessions were signed out.")
    return redirect(url_for("core.index"))
