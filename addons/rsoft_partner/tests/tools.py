"Helpers shared by the tests of the modules built on rsoft_partner"
from trytond.pool import Pool


def create_region(name, code, parent=None):
    Region = Pool().get('rsoft.region')
    region, = Region.create([{
                'name': name, 'code': code,
                'parent': parent.id if parent else None}])
    return region


def create_partner(code, role, parent=None, region=None, company=None):
    pool = Pool()
    Party = pool.get('party.party')
    Partner = pool.get('rsoft.partner')
    party, = Party.create([{'name': f"{code} Cable"}])
    if company is None and parent is not None:
        company = parent.company
    partner, = Partner.create([{
                'party': party.id, 'code': code, 'role': role,
                'parent': parent.id if parent else None,
                'region': region.id if region else None,
                'company': company.id,
                }])
    return partner


def create_chain(company):
    "MSO -> JV -> LCO-A, LCO-B; MSO -> LCO-C: the smallest useful network"
    mso = create_partner('MSO', 'mso', company=company)
    jv = create_partner('JV', 'jv', parent=mso)
    lco_a = create_partner('LCO-A', 'lco', parent=jv)
    lco_b = create_partner('LCO-B', 'lco', parent=jv)
    lco_c = create_partner('LCO-C', 'lco', parent=mso)
    return mso, jv, lco_a, lco_b, lco_c


def create_lco_user(login, partner):
    "Return a back-office user of the 'Pay-TV LCO' group bound to partner"
    pool = Pool()
    User = pool.get('res.user')
    ModelData = pool.get('ir.model.data')
    groups = [
        ModelData.get_id('rsoft_partner', 'group_lco'),
        ModelData.get_id('rsoft_catalogue', 'group_paytv'),
        ]
    user, = User.create([{
                'login': login, 'name': login,
                'rsoft_partner': partner.id,
                'groups': [('add', groups)],
                'companies': [('add', [partner.company.id])],
                'company': partner.company.id,
                }])
    return user

