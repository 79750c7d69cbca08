"""The fictional broadcasters, channels and packs of the demo operator

MRPs follow the shape of Indian broadcaster rate cards: most pay channels
between Rs 0.10 and Rs 19, a few premium HD channels above the bouquet cap
(sold a-la-carte only), free-to-air channels at zero."""

BROADCASTERS = [
    # name, code, [(genre, language, channel names, MRPs)]
    ("Surya Media Network", 'SURYA', [
            ('general_entertainment', 'hindi',
                ["Surya TV", "Surya Plus", "Surya Bharat", "Surya Gold"],
                ['19', '12', '5', '2']),
            ('movies', 'hindi',
                ["Surya Cinema", "Surya Cinema Classic"], ['15', '3']),
            ('general_entertainment', 'hindi',
                ["Surya TV HD", "Surya Cinema HD"], ['19', '19']),
            ]),
    ("Kaveri Broadcasting", 'KAVERI', [
            ('regional', 'kannada',
                ["Kaveri Kannada", "Kaveri Kannada Cinema"], ['15', '10']),
            ('regional', 'tamil',
                ["Kaveri Tamil", "Kaveri Tamil Movies", "Kaveri Murasu"],
                ['17', '12', '1']),
            ('regional', 'telugu',
                ["Kaveri Telugu", "Kaveri Telugu Cinema"], ['17', '10']),
            ('regional', 'malayalam', ["Kaveri Malayalam"], ['12']),
            ]),
    ("Trinetra Entertainment", 'TRINETRA', [
            ('general_entertainment', 'hindi',
                ["Trinetra", "Trinetra Zing", "Trinetra Anmol"],
                ['18', '4', '0.50']),
            ('general_entertainment', 'marathi',
                ["Trinetra Marathi", "Trinetra Yuva"], ['14', '5']),
            ('general_entertainment', 'bengali',
                ["Trinetra Bangla"], ['12']),
            ('movies', 'hindi', ["Trinetra Talkies"], ['8']),
            ]),
    ("Ganga Television", 'GANGA', [
            ('general_entertainment', 'hindi',
                ["Ganga TV", "Ganga Rishtey"], ['16', '6']),
            ('general_entertainment', 'bhojpuri', ["Ganga Bhojpuri"], ['3']),
            ('devotional', 'hindi',
                ["Ganga Aastha", "Ganga Sanskar"], ['0.10', '0.10']),
            ('general_entertainment', 'punjabi', ["Ganga Punjabi"], ['4']),
            ]),
    ("Vistaar Sports Network", 'VISTAAR', [
            ('sports', 'english',
                ["Vistaar Sports 1", "Vistaar Sports 2", "Vistaar Sports 3"],
                ['19', '17', '17']),
            ('sports', 'hindi', ["Vistaar Sports Hindi"], ['19']),
            ('sports', 'tamil', ["Vistaar Sports Tamil"], ['12']),
            ('sports', 'english',
                ["Vistaar Sports 1 HD", "Vistaar Select HD"], ['25', '22']),
            ]),
    ("Nakshatra Movies", 'NAKSHATRA', [
            ('movies', 'english',
                ["Nakshatra Movies", "Nakshatra Action", "Nakshatra Select"],
                ['19', '12', '10']),
            ('movies', 'hindi',
                ["Nakshatra Gold", "Nakshatra Max"], ['19', '15']),
            ('movies', 'english', ["Nakshatra Movies HD"], ['39']),
            ]),
    ("Chintu Kids Media", 'CHINTU', [
            ('kids', 'hindi',
                ["Chintu", "Chintu Junior", "Chintu Toons"],
                ['6', '4', '3']),
            ('kids', 'english', ["Chintu English"], ['5']),
            ('kids', 'tamil', ["Chintu Tamil"], ['2']),
            ]),
    ("Satyam News Corporation", 'SATYAM', [
            ('news', 'hindi',
                ["Satyam News", "Satyam Khabar", "Satyam Business"],
                ['0.50', '0.50', '1']),
            ('news', 'english',
                ["Satyam Times Now", "Satyam World"], ['2', '1']),
            ('news', 'marathi', ["Satyam Marathi News"], ['0.10']),
            ('news', 'kannada', ["Satyam Kannada News"], ['0.10']),
            ]),
    ("Raga Music Channels", 'RAGA', [
            ('music', 'hindi',
                ["Raga Music", "Raga Retro", "Raga Bollywood"],
                ['1', '0.50', '1']),
            ('music', 'tamil', ["Raga Isai"], ['0.50']),
            ('music', 'punjabi', ["Raga Punjabi Beats"], ['0.50']),
            ]),
    ("Bharat Infotainment", 'BHARAT', [
            ('infotainment', 'english',
                ["Bharat Discovery", "Bharat Wild", "Bharat History"],
                ['4', '3', '3']),
            ('infotainment', 'hindi', ["Bharat Gyan"], ['2']),
            ('lifestyle', 'english',
                ["Bharat Living", "Bharat Food"], ['2', '1']),
            ('educational', 'hindi', ["Bharat Vidya"], ['0.10']),
            ]),
    ]

# Carried by every DPO by law, not counted toward NCF.
MANDATED = ("Lok Prasaran (Government)", 'LOKPRASARAN', [
        "Lok Prasaran National", "Lok Prasaran News", "Lok Prasaran Sansad"])

FTA_GENRES = [
    ('devotional', 'hindi'), ('news', 'hindi'), ('music', 'hindi'),
    ('general_entertainment', 'hindi'), ('movies', 'hindi'),
    ('regional', 'tamil'), ('regional', 'telugu'), ('regional', 'kannada'),
    ('news', 'english'), ('educational', 'english'),
    ]
FTA_COUNT = 140

# Operator packs: name, code, kind, the genres they take (None: all pay
# channels), the broadcaster bouquets they take, the share of their
# a-la-carte value charged.
PACKS = [
    ("Value Base Pack", 'BASE-VALUE', 'base_pack',
        {'news', 'music', 'devotional', 'kids'}, [], '0.70'),
    ("Silver Base Pack", 'BASE-SILVER', 'base_pack',
        {'news', 'music', 'devotional', 'kids', 'general_entertainment',
            'infotainment', 'lifestyle', 'educational'}, [], '0.65'),
    ("Gold Base Pack", 'BASE-GOLD', 'base_pack',
        None, ['SURYA-B1', 'TRINETRA-B1', 'GANGA-B1'], '0.60'),
    ("Sports Add-on", 'ADD-SPORTS', 'addon_pack', {'sports'}, [], '0.75'),
    ("Movies Add-on", 'ADD-MOVIES', 'addon_pack', {'movies'}, [], '0.70'),
    ("Kids Add-on", 'ADD-KIDS', 'addon_pack', {'kids'}, [], '0.80'),
    ("South Regional Add-on", 'ADD-SOUTH', 'addon_pack',
        {'regional'}, [], '0.70'),
    ]

REGIONS = [
    # name, code, parent code
    ("India", 'IN', None),
    ("Maharashtra", 'IN-MH', 'IN'),
    ("Mumbai", 'IN-MH-MUM', 'IN-MH'),
    ("Pune", 'IN-MH-PUN', 'IN-MH'),
    ("Karnataka", 'IN-KA', 'IN'),
    ("Bengaluru", 'IN-KA-BLR', 'IN-KA'),
    ("Mysuru", 'IN-KA-MYS', 'IN-KA'),
    ("Tamil Nadu", 'IN-TN', 'IN'),
    ("Chennai", 'IN-TN-CHE', 'IN-TN'),
    ]

PARTNERS = [
    # name, code, role, parent code, region code, agreement (ncf, pay, hw)
    ("Western Cable Ventures Pvt Ltd", 'JV-WEST', 'jv', 'MSO', 'IN-MH',
        ('0.50', '0.20', '0.10')),
    ("Southern Digital Networks Pvt Ltd", 'JV-SOUTH', 'jv', 'MSO', 'IN-KA',
        ('0.50', '0.20', '0.10')),
    ("Andheri Cable Services", 'LCO-MUM-01', 'lco', 'JV-WEST', 'IN-MH-MUM',
        ('0.45', '0.15', '0.10')),
    ("Dadar Digital Cable", 'LCO-MUM-02', 'lco', 'JV-WEST', 'IN-MH-MUM',
        None),
    ("Kothrud Cable Network", 'LCO-PUN-01', 'lco', 'JV-WEST', 'IN-MH-PUN',
        ('0.40', '0.15', '0.05')),
    ("Jayanagar Cable Vision", 'LCO-BLR-01', 'lco', 'JV-SOUTH', 'IN-KA-BLR',
        ('0.45', '0.20', '0.10')),
    ("Mysore Palace Cable", 'LCO-MYS-01', 'lco', 'JV-SOUTH', 'IN-KA-MYS',
        None),
    ("T Nagar Cable Network", 'LCO-CHE-01', 'lco', 'JV-SOUTH', 'IN-TN-CHE',
        ('0.45', '0.15', '0.10')),
    ]

CITIES = {
    'IN-MH-MUM': ("Mumbai", "Maharashtra", '400'),
    'IN-MH-PUN': ("Pune", "Maharashtra", '411'),
    'IN-KA-BLR': ("Bengaluru", "Karnataka", '560'),
    'IN-KA-MYS': ("Mysuru", "Karnataka", '570'),
    'IN-TN-CHE': ("Chennai", "Tamil Nadu", '600'),
    }
