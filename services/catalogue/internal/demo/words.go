package demo

// The vocabulary of the realistic profile (SyntheticOptions.Profile ""/"realistic"). Real catalogues of social
// services read like this: a few hundred words of the trade (usługi opiekuńcze, asystent rodziny, żłobek, klub
// seniora, ...), each in several inflected forms, each occurring in a few percent of the services, and a long
// tail of proper names (organisations, places, streets) that occur in very few. The pools below are chosen and
// weighted so that the share of services containing any one common word stays in the 2-15% band
// (TestRealisticDocumentFrequency checks it). All names of organisations are invented; the types of
// organisations are generic.

// moreKinds extend kinds for the realistic profile only (the harsh profile keeps its own output unchanged).
var moreKinds = []kind{
	{names: []string{"Dom Pomocy Społecznej", "Dom Pomocy Społecznej dla osób przewlekle somatycznie chorych", "Dom Pomocy Społecznej dla osób w podeszłym wieku"}, place: "Dom Pomocy Społecznej", slug: "dps",
		areas: []area{aSA}, groups: []group{gSEN, gPWD}, minAge: 18, maxAge: -1, fee: feeProfile{0.97, uMonth, 450000, 900000}, decision: true, allDay: true,
		leads: []string{"Całodobowa opieka, pielęgnacja i zakwaterowanie dla osób, które nie mogą samodzielnie funkcjonować w swoim domu.",
			"Dom zapewnia mieszkańcom całodobową opiekę, wyżywienie, rehabilitację i zajęcia terapeutyczne."},
		acts:     []string{"pokoje jedno- i dwuosobowe", "całodobowa opieka pielęgniarska", "rehabilitacja", "terapia zajęciowa", "posługa duszpasterska"},
		keywords: []string{"DPS", "dom opieki", "opieka całodobowa", "dom spokojnej starości"}},
	{names: []string{"Ośrodek Interwencji Kryzysowej", "Punkt Interwencji Kryzysowej", "Telefon zaufania"}, place: "Ośrodek Interwencji Kryzysowej", slug: "interwencja",
		areas: []area{aFS, aSA, aHP}, groups: []group{gALL, gFAM}, minAge: -1, maxAge: -1, allDay: true,
		leads: []string{"Natychmiastowa pomoc psychologiczna, prawna i socjalna dla osób w sytuacji kryzysu, także w nocy i w święta.",
			"Ośrodek udziela schronienia i wsparcia osobom doznającym przemocy oraz w nagłym kryzysie."},
		acts:     []string{"hostel dla ofiar przemocy", "dyżur telefoniczny", "interwencja kryzysowa", "pomoc prawna", "grupa wsparcia dla kobiet"},
		keywords: []string{"kryzys", "przemoc", "telefon zaufania", "schronienie"}},
	{names: []string{"Praca socjalna", "Pracownik socjalny w rejonie", "Poradnictwo socjalne"}, place: "Ośrodek Pomocy Społecznej", slug: "praca-socjalna",
		areas: []area{aSA}, groups: []group{gALL, gFAM}, minAge: -1, maxAge: -1,
		leads: []string{"Pracownik socjalny pomaga ocenić sytuację rodziny, zaplanować wsparcie i skorzystać z przysługujących świadczeń.",
			"Rozmowa z pracownikiem socjalnym, wywiad środowiskowy i kontrakt socjalny dla osób i rodzin w trudnej sytuacji."},
		acts:     []string{"wywiad środowiskowy", "kontrakt socjalny", "pomoc w uzyskaniu świadczeń", "zasiłek celowy", "zasiłek okresowy"},
		keywords: []string{"OPS", "GOPS", "MOPS", "zasiłek", "pracownik socjalny"}},
	{names: []string{"Pomoc żywnościowa", "Paczki żywnościowe", "Bank Żywności – punkt wydawania"}, place: "Magazyn pomocy żywnościowej", slug: "zywnosc",
		areas: []area{aSA}, groups: []group{gALL, gFAM}, minAge: -1, maxAge: -1,
		leads: []string{"Wydawanie paczek żywnościowych osobom i rodzinom o niskich dochodach w ramach programu pomocy żywnościowej.",
			"Punkt wydaje artykuły spożywcze przekazane przez bank żywności i lokalne sklepy."},
		acts:     []string{"paczki żywnościowe", "warsztaty kulinarne", "warsztaty niemarnowania żywności", "jadłodzielnia"},
		keywords: []string{"żywność", "paczka", "bank żywności", "jadłodzielnia"}},
	{names: []string{"Karta Dużej Rodziny", "Gminna Karta Dużej Rodziny", "Karta Seniora"}, place: "Punkt obsługi mieszkańców", slug: "karta",
		areas: []area{aFP, aCIV}, groups: []group{gFAM, gSEN}, minAge: -1, maxAge: -1,
		leads: []string{"Karta uprawnia do zniżek w instytucjach kultury, na basenie, w komunikacji i u lokalnych partnerów.",
			"Wniosek o kartę, która daje rodzinom wielodzietnym i seniorom ulgi w gminie i w całym kraju."},
		acts:     []string{"zniżki na basen", "ulgi w komunikacji", "zniżki u partnerów", "karta w aplikacji"},
		keywords: []string{"zniżki", "ulgi", "rodzina wielodzietna", "karta"}},
	{names: []string{"Dodatek mieszkaniowy", "Dodatek osłonowy", "Dodatek energetyczny"}, place: "Punkt świadczeń", slug: "dodatki",
		areas: []area{aHOU, aSA}, groups: []group{gALL, gFAM}, minAge: 18, maxAge: -1, decision: true,
		leads: []string{"Świadczenie pomagające opłacić czynsz i rachunki osobom o niskich dochodach.",
			"Pomoc w złożeniu wniosku o dodatek i w obliczeniu dochodu gospodarstwa domowego."},
		acts:     []string{"wniosek o dodatek", "obliczenie dochodu", "decyzja w ciągu miesiąca", "wypłata na konto"},
		keywords: []string{"dodatek", "czynsz", "rachunki", "świadczenie"}},
	{names: []string{"Terapia uzależnień", "Grupa wsparcia AA", "Poradnia terapii uzależnień"}, place: "Poradnia terapii uzależnień", slug: "terapia-uzaleznien",
		areas: []area{aHP}, groups: []group{gALL, gFAM}, minAge: 16, maxAge: -1,
		leads: []string{"Terapia indywidualna i grupowa dla osób uzależnionych od alkoholu, narkotyków, hazardu i internetu oraz ich bliskich.",
			"Program terapii uzależnień z etapem podstawowym i pogłębionym, prowadzony przez certyfikowanych terapeutów."},
		acts:     []string{"terapia grupowa", "terapia indywidualna", "grupa dla osób współuzależnionych", "zapobieganie nawrotom"},
		keywords: []string{"alkohol", "uzależnienie", "terapia", "hazard", "narkotyki"}},
	{names: []string{"Rehabilitacja ruchowa", "Gabinet fizjoterapii", "Rehabilitacja dla dzieci"}, place: "Gabinet rehabilitacji", slug: "rehabilitacja",
		areas: []area{aHP, aDIS}, groups: []group{gPWD, gSEN, gCY}, minAge: -1, maxAge: -1, fee: feeProfile{0.4, uVisit, 4000, 12000},
		leads: []string{"Fizjoterapeuci prowadzą ćwiczenia, masaż i zabiegi fizykoterapii, także w domu pacjenta.",
			"Rehabilitacja dla osób po urazach, udarach i z chorobami przewlekłymi, na miejscu i w domu."},
		acts:     []string{"kinezyterapia", "masaż leczniczy", "fizykoterapia", "rehabilitacja domowa", "zajęcia na basenie"},
		keywords: []string{"rehabilitacja", "fizjoterapia", "masaż", "ćwiczenia"}},
	{names: []string{"Wczesne wspomaganie rozwoju dziecka", "Poradnia psychologiczno-pedagogiczna", "Terapia logopedyczna"}, place: "Poradnia", slug: "wczesne-wspomaganie",
		areas: []area{aPE, aDIS, aHP}, groups: []group{gCY, gU3, gFAM}, minAge: 0, maxAge: 9,
		leads: []string{"Zespół specjalistów wspiera rozwój małych dzieci z niepełnosprawnością lub zagrożonych niepełnosprawnością.",
			"Diagnoza i terapia dzieci z trudnościami w mowie, uczeniu się i zachowaniu oraz konsultacje dla rodziców."},
		acts:     []string{"terapia logopedyczna", "integracja sensoryczna", "terapia pedagogiczna", "diagnoza rozwoju", "konsultacje dla rodziców"},
		keywords: []string{"logopeda", "autyzm", "opinia", "orzeczenie", "rozwój dziecka"}},
	{names: []string{"Koło Gospodyń Wiejskich", "Spotkania Koła Gospodyń Wiejskich"}, place: "Świetlica wiejska", slug: "kgw",
		areas: []area{aCIV, aCUL}, groups: []group{gALL, gSEN}, minAge: -1, maxAge: -1,
		leads: []string{"Koło gospodyń wiejskich organizuje spotkania, warsztaty kulinarne i lokalne święta, otwarte dla wszystkich mieszkańców wsi.",
			"Spotkania, kiermasze i warsztaty rękodzieła w świetlicy wiejskiej."},
		acts:     []string{"kiermasz świąteczny", "warsztaty rękodzieła", "dożynki", "wspólne gotowanie", "wieczór kolęd"},
		keywords: []string{"KGW", "wieś", "tradycja", "rękodzieło"}},
	{names: []string{"Pomoc dla osób z Ukrainy", "Punkt informacyjny dla cudzoziemców", "Kurs języka polskiego dla cudzoziemców"}, place: "Punkt informacyjny", slug: "cudzoziemcy",
		areas: []area{aSA, aPE, aREI}, groups: []group{gALL, gFAM}, minAge: -1, maxAge: -1,
		leads: []string{"Informacja i pomoc w sprawach pobytu, pracy, szkoły i świadczeń dla osób przybyłych z zagranicy.",
			"Kurs języka polskiego i porady dla cudzoziemców mieszkających w gminie, także po ukraińsku."},
		acts:     []string{"nauka języka polskiego", "pomoc tłumacza", "legalizacja pobytu", "zapisy dzieci do szkoły"},
		keywords: []string{"Ukraina", "uchodźcy", "cudzoziemcy", "język polski"}},
	{names: []string{"Pomoc sąsiedzka dla seniorów", "Korpus Wsparcia Seniorów", "Zakupy dla seniora"}, place: "Punkt koordynacji wolontariuszy", slug: "wsparcie-seniorow",
		areas: []area{aSA, aCIV}, groups: []group{gSEN}, minAge: 60, maxAge: -1,
		leads: []string{"Wolontariusze i pracownicy gminy robią zakupy, realizują recepty i odwiedzają samotnych seniorów.",
			"Program wsparcia osób starszych mieszkających samotnie, z teleopieką i pomocą w codziennych sprawach."},
		acts:     []string{"zakupy i leki", "telefon do seniora", "odwiedziny wolontariusza", "pomoc w drobnych naprawach"},
		keywords: []string{"senior", "samotność", "zakupy", "wolontariusz"}},
	{names: []string{"Gminne Centrum Informacji", "Punkt Informacji dla Osób z Niepełnosprawnościami", "Centrum Informacji i Planowania Kariery"}, place: "Punkt informacyjny", slug: "informacja",
		areas: []area{aDIS, aUNE, aCIV}, groups: []group{gPWD, gUNE, gALL}, minAge: -1, maxAge: -1,
		leads: []string{"Informacja o ulgach, uprawnieniach, dofinansowaniach i turnusach rehabilitacyjnych w jednym miejscu.",
			"Doradcy wyjaśniają, jak uzyskać orzeczenie, dofinansowanie ze środków PFRON i inne formy pomocy."},
		acts:     []string{"orzeczenie o niepełnosprawności", "dofinansowanie turnusu", "likwidacja barier", "karta parkingowa"},
		keywords: []string{"PFRON", "orzeczenie", "dofinansowanie", "turnus rehabilitacyjny"}},
	{names: []string{"Kolonie i obozy", "Zimowisko", "Obóz sportowy"}, place: "Punkt zapisów", slug: "kolonie",
		areas: []area{aSPT, aFS}, groups: []group{gCY}, minAge: 7, maxAge: 17, fee: feeProfile{0.8, uCourse, 60000, 180000},
		leads: []string{"Wyjazdy wypoczynkowe dla dzieci i młodzieży z opieką wychowawców, dofinansowane dla rodzin o niskich dochodach.",
			"Letni i zimowy wypoczynek z zajęciami sportowymi i wycieczkami krajoznawczymi."},
		acts:     []string{"nocleg w ośrodku", "opieka wychowawców", "zajęcia sportowe", "wycieczki", "ubezpieczenie uczestników"},
		keywords: []string{"wakacje", "ferie", "kolonie", "obóz"}},
	{names: []string{"Basen i siłownia", "Zajęcia na basenie", "Siłownia pod chmurką"}, place: "Pływalnia", slug: "basen",
		areas: []area{aSPT, aHP}, groups: []group{gALL, gSEN, gCY}, minAge: -1, maxAge: -1, fee: feeProfile{0.85, uVisit, 800, 2500},
		leads: []string{"Pływalnia z nauką pływania, aquaaerobikiem i godzinami dla seniorów oraz osób z niepełnosprawnościami.",
			"Zajęcia ruchowe na basenie i w siłowni plenerowej dla mieszkańców w każdym wieku."},
		acts:     []string{"nauka pływania", "aquaaerobik", "sauna", "siłownia plenerowa", "ulgowe bilety"},
		keywords: []string{"basen", "pływanie", "sport", "siłownia"}},
	{names: []string{"Integracyjny klub młodzieżowy", "Streetworking", "Młodzieżowa Rada Gminy"}, place: "Klub młodzieżowy", slug: "mlodziez",
		areas: []area{aCIV, aFS, aPE}, groups: []group{gCY}, minAge: 13, maxAge: 21,
		leads: []string{"Miejsce spotkań dla nastolatków z zajęciami, pomocą streetworkerów i rozmową z psychologiem.",
			"Młodzież przygotowuje własne projekty, uczy się współpracy i działa na rzecz swojej miejscowości."},
		acts:     []string{"gry komputerowe i planszowe", "warsztaty filmowe", "rozmowy ze streetworkerem", "projekty młodzieżowe"},
		keywords: []string{"młodzież", "nastolatki", "streetworker", "klub"}},
}

// kindWeight makes some kinds of services far more common than others, as in real catalogues: care at home,
// meals and social work are everywhere; a repair café or an eco-club is rare. Unlisted kinds weigh 1.
var kindWeight = map[string]float64{
	"uslugi-opiekuncze": 4, "posilki": 3, "praca-socjalna": 3.5, "swietlica": 3, "asystent-rodziny": 3, "psycholog": 3,
	"klub-seniora": 3, "senior-plus": 2.5, "zlobek": 2.5, "biblioteka": 2.5, "dom-kultury": 2.5, "sport": 2.5,
	"uzaleznienia": 2, "pomoc-prawna": 2, "doradztwo": 2, "zywnosc": 2, "dodatki": 2, "dps": 1.5, "interwencja": 1.5,
	"rehabilitacja": 2, "wczesne-wspomaganie": 1.5, "kgw": 2, "wolontariat": 1.5, "teleopieka": 1.5, "wypozyczalnia": 1.5,
	"door-to-door": 1.5, "sds": 1.2, "profilaktyka": 1.5, "basen": 1.5, "mlodziez": 1.5, "karta": 1.5, "polkolonie": 1.5,
	"uslugi-specjalistyczne": 1.2, "odrabialnia": 1.2, "aktywny-senior": 1.5, "wycieczki": 1.2, "kolonie": 1.2,
	"ogrod": 0.5, "eko": 0.6, "energia": 0.8, "cudzoziemcy": 0.8, "mediacje": 0.7, "piecza-szkolenia": 0.5,
	"usamodzielnienie": 0.5, "dzienny-opiekun": 0.6, "cis": 0.6, "kis": 0.7, "noclegownia": 0.7, "mieszkanie": 0.8,
}

// offerIntros open the sentence listing what a service offers.
var offerIntros = []string{"W ramach usługi oferujemy:", "Oferujemy między innymi:", "W programie:", "Proponujemy:",
	"Zapewniamy:", "Prowadzimy:", "Co proponujemy?", "Do dyspozycji mieszkańców:", "Nasza oferta to:", "Zakres wsparcia:",
	"W ofercie:", "Na miejscu:", "Uczestnicy mają do wyboru:", "Czekają na Państwa:", "Organizujemy:", "Można liczyć na:"}

// keywordHeads open the sentence of search words.
var keywordHeads = []string{"Słowa kluczowe: ", "Tagi: ", "Szukaj też: ", "Hasła: ", "Zobacz także: ", "Tematy: "}

// actJoins join the last activity of a list.
var actJoins = []string{" oraz ", " i ", ", a także ", ", ", " oraz ", " i "}

// moreActs are activities any kind of service may list (accusative/nominative, after a colon).
var moreActs = []string{"konsultacje ze specjalistami", "zajęcia w małych grupach", "spotkania z rodzicami",
	"indywidualny plan wsparcia", "bezpłatny dowóz", "opiekę nad dziećmi w czasie spotkań", "poradnictwo rodzinne", "warsztaty komputerowe",
	"porady dietetyka", "spacery z kijkami", "ćwiczenia oddechowe", "konsultacje prawne", "porady psychologa",
	"ćwiczenia z fizjoterapeutą", "wyjazdy do teatru", "warsztaty rękodzieła", "śpiewanie w chórze", "naukę tańca",
	"trening relaksacyjny", "grupy samopomocowe", "konsultacje pedagoga", "pomoc w pisaniu pism", "kawiarenkę internetową",
	"spotkania z policjantem dzielnicowym", "wspólne przygotowywanie posiłków", "terapię zajęciową",
	"opiekę pielęgniarską", "kąpiel i pranie", "kino dla seniorów", "pikniki rodzinne", "wieczorki taneczne",
	"spotkania z ciekawymi ludźmi", "grupy rozwoju osobistego", "terapię logopedyczną", "warsztaty dla opiekunów",
	"szkolenia z pierwszej pomocy", "robotykę", "szachy", "gry i zabawy integracyjne", "turnieje planszówek",
	"prace w ogrodzie", "konsultacje online", "wideoporady", "pomoc w obsłudze smartfona", "naukę bezpieczeństwa w sieci",
	"trening umiejętności wychowawczych", "warsztaty Szkoła dla Rodziców", "muzykoterapię", "arteterapię",
	"dogoterapię", "hipoterapię", "biblioterapię", "salę doświadczania świata", "treningi zastępowania agresji"}

// staffSentences say who runs the service; %s is a staff phrase (nominative plural), the second the partner
// (instrumental) with its name.
var staffSentences = []string{"Zajęcia prowadzą %s we współpracy z %s.", "Wsparcia udzielają %s w partnerstwie z %s.",
	"Nad uczestnikami czuwają %s, wspólnie z %s.", "Usługę realizują %s w porozumieniu z %s.", "Spotkania prowadzą doświadczeni %s, we współpracy z %s.",
	"Pracują u nas %s; współpracujemy z %s.", "Opiekę zapewniają %s, we współdziałaniu z %s.", "Kadrę stanowią %s; działamy w partnerstwie z %s."}

// targetSentences name who a service is for: the %s are the groups, in the case the template says, and a
// phrase of place (placePhrase), which may be empty.
var targetSentences = []caseTemplate{{"Wsparcie jest skierowane do %s%s.", 'g'}, {"Zapraszamy %s%s.", 'a'},
	{"Z oferty korzystają %s%s.", 'n'}, {"Adresatami są %s%s.", 'n'}, {"Usługa jest przeznaczona dla %s%s.", 'g'},
	{"Przyjmujemy %s%s.", 'a'}, {"Pomagamy %s%s.", 'd'}, {"Oferta dla %s%s.", 'g'}, {"Czekamy na %s%s.", 'a'},
	{"Odbiorcami są %s%s.", 'n'}, {"Działamy na rzecz %s%s.", 'g'}, {"Wspieramy %s%s.", 'a'}}

// caseTemplate is a sentence with a target group in a given grammatical case: 'g' genitive, 'a' accusative,
// 'd' dative, 'n' nominative.
type caseTemplate struct {
	s    string
	kase byte
}

// groupAcc is each target group in the accusative (after "Zapraszamy", "Przyjmujemy") and other sentences that
// take it; groupPhrase (genitive) serves the rest.
var groupAcc = map[group]string{
	gU3: "dzieci do lat 3 i ich rodziców", gCY: "dzieci i młodzież", gFAM: "rodziny", gSEN: "seniorów",
	gPWD: "osoby z niepełnosprawnościami", gCAR: "opiekunów osób zależnych", gUNE: "osoby bezrobotne", gALL: "wszystkich mieszkańców",
}

// groupDat is each target group in the dative (after "Pomagamy").
var groupDat = map[group]string{
	gU3: "dzieciom do lat 3 i ich rodzicom", gCY: "dzieciom i młodzieży", gFAM: "rodzinom", gSEN: "seniorom",
	gPWD: "osobom z niepełnosprawnościami", gCAR: "opiekunom osób zależnych", gUNE: "osobom bezrobotnym", gALL: "wszystkim mieszkańcom",
}

// groupNom is each target group in the nominative (after "korzystać", "Adresatami są").
var groupNom = map[group]string{
	gU3: "dzieci do lat 3 i ich rodzice", gCY: "dzieci i młodzież", gFAM: "rodziny", gSEN: "seniorzy",
	gPWD: "osoby z niepełnosprawnościami", gCAR: "opiekunowie osób zależnych", gUNE: "osoby bezrobotne", gALL: "wszyscy mieszkańcy",
}

// practical are sentences of practical information; a service carries one to three of them.
var practical = []string{
	"Liczba miejsc jest ograniczona.", "Obowiązują wcześniejsze zapisy.", "Nie trzeba się zapisywać.",
	"Udział jest bezpłatny.", "Prosimy o zabranie dowodu osobistego.", "Pierwsza wizyta trwa około godziny.",
	"Na spotkanie można przyjść z osobą bliską.", "Rozmowy są poufne.", "Można umówić się telefonicznie.",
	"Zapewniamy dojazd mieszkańcom odległych sołectw.", "Budynek jest dostępny dla osób na wózkach.",
	"W wakacje obowiązują inne godziny.", "Spotykamy się we wtorki i czwartki.",
	"Spotkania odbywają się raz w tygodniu.", "Grupa spotyka się co dwa tygodnie.", "Porady udzielane są także w języku ukraińskim.",
	"Dla osób niesłyszących dostępny jest tłumacz migowy.", "Pomoc jest udzielana bez względu na dochód.",
	"O przyznaniu pomocy decyduje kolejność zgłoszeń.", "Pierwszeństwo mają osoby samotne.",
	"Pierwszeństwo mają rodziny wielodzietne.", "Wymagane jest skierowanie lekarza.", "Nie jest wymagane skierowanie.",
	"Okres oczekiwania wynosi zwykle dwa tygodnie.", "W nagłych sprawach prosimy o telefon.", "Oferta jest dostępna przez cały rok.",
	"Nabór trwa do wyczerpania miejsc.", "Jedno spotkanie trwa 90 minut.", "Uczestnicy otrzymują zaświadczenie.",
	"Przy placówce jest bezpłatny parking.", "Dojazd autobusem linii gminnej.", "Placówka działa od ponad dziesięciu lat.",
	"Posiadamy ogród i plac zabaw.", "Sale są klimatyzowane.", "Prosimy o wygodny strój.", "Kawa i herbata na miejscu.",
	"Informacje o bieżących wydarzeniach publikujemy na stronie internetowej.", "Harmonogram jest dostępny w sekretariacie.",
	"Porady można uzyskać również przez telefon.", "W szczególnych przypadkach pracownik przyjeżdża do domu.",
	"Działamy w oparciu o regulamin przyjęty przez radę gminy.", "Zapewniamy pełną dyskrecję.",
	"Wsparcie trwa do sześciu miesięcy z możliwością przedłużenia.", "Zgłoszenia przyjmujemy również mailowo.",
	"Kontakt z koordynatorem w dni robocze.", "Pomagamy także w wypełnieniu wniosku.",
}

// fundSentences name who pays for a project; %s is the project's name, the second the fund.
var fundSentences = []string{"Projekt „%s” jest współfinansowany ze środków %s.", "Zadanie „%s” finansowane jest ze środków %s.",
	"Program „%s” realizujemy dzięki wsparciu %s.", "Usługa powstała w ramach projektu „%s”, finansowanego ze środków %s."}

// projectWords build the names of projects ("Razem bezpieczniej", "Aktywni na co dzień").
var projectWords = [][]string{
	{"Razem", "Aktywni", "Bliżej", "Bezpieczni", "Samodzielni", "Zdrowo", "Pewny", "Dobry", "Nowy", "Wspólny", "Otwarci", "Lepszy"},
	{"bezpieczniej", "na co dzień", "w gminie", "start", "krok", "dom", "sąsiedzi", "dla rodziny", "po sześćdziesiątce", "w działaniu", "z pasją", "razem"},
}

// orgTypes are the types of organisations that run services (generic, not real organisations).
var orgTypes = []string{"Stowarzyszenie", "Fundacja", "Spółdzielnia Socjalna", "Koło Gospodyń Wiejskich", "Stowarzyszenie na rzecz Osób Niepełnosprawnych",
	"Parafialny Zespół Caritas", "Towarzystwo Przyjaciół Dzieci – oddział", "Klub Sportowy", "Ochotnicza Straż Pożarna w miejscowości",
	"Stowarzyszenie Rodzin i Przyjaciół", "Fundacja Rozwoju", "Uczniowski Klub Sportowy"}

// sameNames tell apart gminas of the same name ("Lipowo Kościelne"), as Poland does.
var sameNames = []string{"Wielkie", "Małe", "Nowe", "Stare", "Górne", "Dolne", "Kościelne", "Szlacheckie", "Królewskie",
	"Pierwsze", "Drugie", "Wielkopolskie", "Mazowieckie", "Kujawskie", "Śląskie", "Podlaskie", "Pomorskie", "Leśne",
	"Polne", "Błotne", "Rządowe", "Duchowne", "Poduchowne", "Gościnne", "Zamkowe", "Średnie", "Wschodnie", "Zachodnie"}

// orgNames are invented names of organisations (the quoted part).
var orgNames = []string{"Promyk", "Tęcza", "Razem", "Nadzieja", "Przystań", "Bratnia Dłoń", "Otwarte Serca", "Złota Jesień",
	"Pogodna Jesień", "Słoneczko", "Ostoja", "Horyzont", "Kotwica", "Wspólna Sprawa", "Dobry Start", "Krok po Kroku", "Drugi Dom",
	"Uśmiech", "Zielona Dolina", "Pod Lipami", "Pod Dębem", "Wrzos", "Niezapominajka", "Stokrotka", "Kasztanek", "Bajka",
	"Iskierka", "Sokół", "Orlik", "Jutrzenka", "Przyjazna Dłoń", "Most", "Spichlerz", "Koniczynka", "Kalina", "Jarzębina",
	"Źródło", "Światełko", "Latarnia", "Arka", "Gniazdo", "Ul", "Pszczółka", "Sowa", "Żurawie", "Bocian", "Modrzew",
	"Ogniwo", "Siedlisko", "Dobre Miejsce", "Sąsiedzka Pomoc", "Serce dla Seniora", "Aktywni Razem", "Lepsze Jutro",
	"Dom z Sercem", "Wyspa", "Azymut", "Kompas", "Cegiełka", "Radość"}

// nameSyllables make invented surnames and names for the tail of proper names (patrons, invented hamlets).
var nameSyllables = []string{"ko", "wal", "ski", "now", "ak", "wiś", "niew", "dą", "brow", "zie", "liń", "maz", "ur",
	"kacz", "mar", "czyk", "pio", "trow", "grab", "iec", "sob", "czak", "krup", "ka", "pa", "włod", "rzej", "stach", "ura"}

// patrons are invented patrons of centres and schools ("im. Józefa Kowalskiego" style: first names are common).
var patronFirst = []string{"Jana", "Józefa", "Marii", "Anny", "Stefana", "Heleny", "Tadeusza", "Zofii", "Władysława", "Ireny",
	"Kazimierza", "Jadwigi", "Stanisława", "Barbary", "Henryka", "Krystyny"}

// moreStreets extend streets in the realistic profile.
var moreStreets = []string{"Akacjowa", "Brzozowa", "Dębowa", "Jesionowa", "Klonowa", "Kwiatowa", "Różana", "Sportowa",
	"Strażacka", "Szpitalna", "Spółdzielcza", "Ogrodowa", "Tuwima", "Chopina", "Moniuszki", "Matejki", "Staszica",
	"Prusa", "Orzeszkowej", "Wyszyńskiego", "Armii Krajowej", "Partyzantów", "Pocztowa", "Przemysłowa", "Zamkowa",
	"Nadrzeczna", "Wodna", "Piaskowa", "Cicha", "Graniczna", "Stawowa", "Łąkowa", "Rolnicza", "Rzemieślnicza", "Wesoła"}

// keywordPool are the words and phrases of the "Słowa kluczowe" sentence besides each kind's own.
var keywordPool = []string{"pomoc", "wsparcie", "opieka", "senior", "seniorzy", "rodzina", "dzieci", "młodzież", "zdrowie",
	"integracja", "aktywność", "bezpłatnie", "porada", "poradnictwo", "niepełnosprawność", "samotność", "kryzys", "edukacja",
	"kultura", "sport", "rekreacja", "zajęcia", "warsztaty", "wolontariat", "sąsiedztwo", "społeczność lokalna", "wieś",
	"miasto", "ubóstwo", "bezrobocie", "praca", "dom", "mieszkanie", "rehabilitacja", "terapia", "dzieci niepełnosprawne",
	"osoby starsze", "osoby samotne", "opiekun", "rodzina zastępcza", "przemoc", "uzależnienia", "dieta", "ruch", "pamięć",
	"czas wolny", "ferie", "wakacje", "ekologia", "język polski", "Ukraina", "dostępność", "transport", "dowóz", "teleopieka",
	"usługi społeczne", "CUS", "OPS", "aktywizacja", "integracja społeczna"}

// eligibilitySentences say who may use a service: a group in the template's case and a phrase of place.
var eligibilitySentences = []caseTemplate{{"Usługa dla %s%s.", 'g'}, {"Skorzystać mogą %s%s.", 'n'},
	{"Uprawnieni: %s%s.", 'n'}, {"Pierwszeństwo mają %s%s.", 'n'}, {"Bez kryterium dochodowego, dla %s%s.", 'g'},
	{"Po ocenie pracownika socjalnego, dla %s%s.", 'g'}, {"Przyjmowane są %s%s.", 'n'}, {"Wymagany wniosek; dla %s%s.", 'g'},
	{"Zgłaszać się mogą %s%s.", 'n'}, {"Obejmujemy wsparciem %s%s.", 'a'}, {"Kwalifikujemy %s%s.", 'a'}, {"Dla %s%s, po rozmowie wstępnej.", 'g'},
	{"Zapisujemy %s%s.", 'a'}, {"W pierwszej kolejności %s%s.", 'n'}}

// placePhrases follow a target group: where its members live. %s is the gmina's name (nominative); an empty
// phrase says nothing of place.
var placePhrases = []string{" z terenu gminy %s", " z gminy %s", " z miejscowości %s i okolic", " z %s", "", "", "", "",
	" z najbliższej okolicy", " z powiatu", " z całej okolicy", " z okolicznych wsi", " z miasta", " z sołectw", " z osiedli",
	" z %s i sąsiednich miejscowości"}

// moreRoots extend gminaRoots in the realistic profile, for a national number of distinct names.
var moreRoots = []string{"Brodn", "Chełm", "Dział", "Gniew", "Grodz", "Jedl", "Kobyl", "Końsk", "Lubl", "Łomn", "Międz",
	"Nadar", "Olesz", "Pruszk", "Raszk", "Skarż", "Sulech", "Tarn", "Wąs", "Zbąsz", "Żerk", "Bielsk", "Choszcz", "Drawsk",
	"Głog", "Kęp", "Limanow", "Mysz", "Plesz", "Rogoź", "Strzel", "Szamot", "Trzeb", "Wolsz", "Złot", "Żmigr"}

// voivodeshipGminas is the number of gminas of each voivodeship in Poland (2,477 in all), in the order of
// voivodeships, so that a national synthetic catalogue spreads like the real one.
var voivodeshipGminas = []int{169, 144, 213, 82, 177, 182, 314, 71, 160, 118, 123, 167, 102, 116, 226, 113}
