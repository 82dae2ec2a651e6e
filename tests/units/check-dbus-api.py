#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Keep the org.tcs.Manager API, its polkit actions and its bus files in step.

The interface XML is the API: every method and property names its polkit
action, every secret is an annotated ``ay``, everything is documented in
gdbus-codegen's comment syntax. This checks that, and that the policy file,
the bus policy, the activation file and tcsd.service agree with it. Only the
standard library is used, so it runs wherever the build does.
"""
import argparse
import configparser
import re
import sys
import xml.etree.ElementTree as ET

ACTION = "org.tcs.Polkit.Action"
SECRET = "org.tcs.Secret"
NAME = "org.tcs.Manager"
# the defaults: reading is open, owner operations need an active local admin
OPEN_ACTIONS = {"org.tcs.manager.read-status", "org.tcs.manager.list-keys"}
OPEN_DEFAULTS = ("yes", "yes", "yes")
OWNER_DEFAULTS = ("no", "no", "auth_admin_keep")
CALLABLE_INTERFACES = {NAME, "org.freedesktop.DBus.Properties",
                       "org.freedesktop.DBus.Introspectable", "org.freedesktop.DBus.Peer"}

errors = []


def fail(msg):
    errors.append(msg)


def parse(path, comments=False):
    """Parse with Python's XML parser; a syntax error is a failure, not a crash."""
    try:
        parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=comments))
        return ET.parse(path, parser).getroot()
    except (OSError, ET.ParseError) as e:
        fail(f"{path}: {e}")
        return None


def annotations(elem):
    return {a.get("name"): a.get("value") for a in elem.findall("annotation")}


def doc_comment(prev, symbol):
    """The gdbus-codegen doc comment for symbol: 'Symbol:' heading, @params, body."""
    if prev is None or prev.tag is not ET.Comment:
        return None
    text = prev.text.strip()
    if not text.startswith(symbol + ":"):
        return None
    params, body = {}, []
    lines = text.split("\n")[1:]
    in_params = True
    for line in lines:
        s = line.strip()
        m = re.match(r"@(\w+): (.+)", s)
        if in_params and m:
            params[m.group(1)] = m.group(2)
            continue
        in_params = False
        body.append(s)
    first = text.split("\n")[0][len(symbol) + 1:].strip()
    return {"params": params, "body": "\n".join([first] + body).strip()}


def documented_children(iface):
    """(element, doc) for each method, property and signal, doc from the comment before it."""
    prev = None
    for child in iface:
        if child.tag is ET.Comment:
            prev = child
            continue
        if child.tag in ("method", "property", "signal"):
            yield child, doc_comment(prev, child.get("name"))
        prev = None


def check_interface(xml_path, policy_actions):
    root = parse(xml_path, comments=True)
    if root is None:
        return None, set()
    ifaces = root.findall("interface")
    if [i.get("name") for i in ifaces] != [NAME]:
        fail(f"{xml_path}: expected exactly the interface {NAME}")
        return None, set()
    iface = ifaces[0]
    # the interface doc is the comment right before <interface>
    kids = list(root)
    idx = kids.index(iface)
    iface_doc = doc_comment(kids[idx - 1] if idx else None, NAME)
    if not iface_doc:
        fail(f"{NAME}: no doc comment")
        declared_errors = set()
    else:
        declared_errors = set(re.findall(r"^- ``(org\.tcs\.Error\.\w+)``", iface_doc["body"], re.M))
        if not declared_errors:
            fail(f"{NAME}: the interface doc lists no org.tcs.Error names")

    used = set()
    for elem, doc in documented_children(iface):
        kind, name = elem.tag, elem.get("name")
        where = f"{kind} {name}"
        if doc is None:
            fail(f"{where}: no doc comment ('{name}: ...' right before it)")
        ann = annotations(elem)
        if kind in ("method", "property"):
            action = ann.get(ACTION)
            if not action:
                fail(f"{where}: no {ACTION} annotation")
            elif action not in policy_actions:
                fail(f"{where}: polkit action {action} is not in the policy file")
            else:
                used.add(action)
            if kind == "method" and action and doc and f"polkit action: ``{action}``" not in doc["body"]:
                fail(f"{where}: its doc does not say 'polkit action: ``{action}``'")
        if kind == "property" and elem.get("access") != "read":
            fail(f"{where}: properties are read-only; changes go through methods and polkit")
        for arg in elem.findall("arg"):
            aname, atype = arg.get("name"), arg.get("type")
            aann = annotations(arg)
            secret = aann.get(SECRET) == "true"
            if not aname:
                fail(f"{where}: unnamed argument")
                continue
            if kind != "property" and doc is not None and aname not in doc["params"]:
                fail(f"{where}: argument {aname} is not documented (@{aname}: ...)")
            if secret and (atype != "ay" or arg.get("direction", "in") != "in"):
                fail(f"{where}: secret {aname} must be an input 'ay'")
            if aname.endswith("secret") and not secret:
                fail(f"{where}: {aname} looks like a secret but lacks {SECRET}")
            if atype == "s" and "secret" in aname:
                fail(f"{where}: secrets travel as 'ay', never 's'")
            if aname in ("options", "criteria") and atype != "a{sv}":
                fail(f"{where}: {aname} must be a{{sv}}")
        if doc:
            for err in re.findall(r"org\.tcs\.Error\.\w+", doc["body"] + " ".join(doc["params"].values())):
                if err not in declared_errors:
                    fail(f"{where}: {err} is not in the interface's error list")
    return iface, used


def check_policy(policy_path):
    root = parse(policy_path)
    actions = {}
    if root is None:
        return actions
    for action in root.findall("action"):
        aid = action.get("id", "")
        if not aid.startswith("org.tcs.manager."):
            fail(f"{policy_path}: action {aid} outside org.tcs.manager.")
        if aid in actions:
            fail(f"{policy_path}: action {aid} twice")
        defaults = tuple((action.findtext(f"defaults/{k}") or "").strip()
                         for k in ("allow_any", "allow_inactive", "allow_active"))
        want = OPEN_DEFAULTS if aid in OPEN_ACTIONS else OWNER_DEFAULTS
        if defaults != want:
            fail(f"{policy_path}: {aid} defaults {defaults}, expected {want}")
        if not (action.findtext("description") and action.findtext("message")):
            fail(f"{policy_path}: {aid} needs a description and a message")
        actions[aid] = defaults
    return actions


def check_bus_policy(conf_path, tss_user):
    root = parse(conf_path)
    if root is None:
        return
    owners = set()
    default_sends = set()
    for pol in root.findall("policy"):
        default = pol.get("context") == "default"
        for rule in pol.findall("allow"):
            name = rule.get("own") or rule.get("own_prefix")
            if name:
                owners.add((None if default else pol.get("user"), name))
            elif default:
                if rule.get("send_destination") != NAME:
                    fail(f"{conf_path}: the default context may only send to {NAME}: {rule.attrib}")
                default_sends.add(rule.get("send_interface"))
    if owners != {("root", NAME), (tss_user, NAME)}:
        fail(f"{conf_path}: {NAME} must be ownable by root and {tss_user} only, got {sorted(owners, key=str)}")
    if default_sends != CALLABLE_INTERFACES:
        fail(f"{conf_path}: callable interfaces {sorted(map(str, default_sends))}, expected {sorted(CALLABLE_INTERFACES)}")


def read_ini(path, section):
    cp = configparser.ConfigParser(interpolation=None, strict=False)
    cp.optionxform = str
    try:
        with open(path, encoding="utf-8") as f:
            cp.read_file(f)
        return dict(cp[section])
    except (OSError, KeyError, configparser.Error) as e:
        fail(f"{path}: {e}")
        return {}


def check_activation(service_path, unit_path):
    svc = read_ini(service_path, "D-BUS Service")
    if svc.get("Name") != NAME:
        fail(f"{service_path}: Name={svc.get('Name')}, expected {NAME}")
    if svc.get("SystemdService") != "tcsd.service":
        fail(f"{service_path}: SystemdService must be tcsd.service")
    exec_ = svc.get("Exec", "").split()
    if not exec_ or not exec_[0].startswith("/") or not exec_[0].endswith("/tcsd"):
        fail(f"{service_path}: Exec must run tcsd by absolute path")
    # tcsd started by the activation helper must start as root to drop to tss itself
    if svc.get("User") != "root":
        fail(f"{service_path}: User must be root")
    unit = read_ini(unit_path, "Service")
    if unit.get("BusName") != NAME:
        fail(f"{unit_path}: BusName={unit.get('BusName')}, expected {NAME}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--xml", required=True)
    ap.add_argument("--policy", required=True)
    ap.add_argument("--bus-policy", required=True)
    ap.add_argument("--activation", required=True)
    ap.add_argument("--unit", required=True)
    ap.add_argument("--tss-user", default="tss")
    a = ap.parse_args()

    actions = check_policy(a.policy)
    iface, used = check_interface(a.xml, actions)
    for unused in sorted(set(actions) - used):
        fail(f"{a.policy}: action {unused} is used by no method or property")
    check_bus_policy(a.bus_policy, a.tss_user)
    check_activation(a.activation, a.unit)

    if iface is not None:
        n = {k: len(iface.findall(k)) for k in ("method", "property", "signal")}
        print(f"{NAME}: {n['method']} methods, {n['property']} properties, {n['signal']} signals; "
              f"{len(actions)} polkit actions")
    for e in errors:
        print(f"FAIL: {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
